import DSFormats
import DSTokenizer
import Foundation

/// A task written out as files: dsllm's task file + data (so a built-in task can be edited), and the same task as
/// lm-evaluation-harness YAML over the same data, for running both harnesses side by side.
extension EvaluationTask {
    public struct ExportedFiles: Sendable {
        public var taskFile: String       // NAME.json
        public var data: String           // NAME.jsonl
        public var lmEvalYAML: String?    // NAME.yaml (nil: lm-eval has no such task type, e.g. repetition)
    }

    /// `dataPath` is where the lm-eval YAML finds the data (an absolute path: lm-eval resolves data_files from
    /// its working directory).
    public func exported(dataPath: String) -> ExportedFiles {
        var task: [(String, JSONOut)] = [("name", .string(name)), ("type", .string(kind.rawValue)), ("data", .string(name + ".jsonl"))]
        var data: [JSONOut] = []
        let prompting: [(String, JSONOut)] = [("description", .string(description)), ("target_delimiter", .string(targetDelimiter)),
                                              ("fewshot_delimiter", .string(fewshotDelimiter)), ("shots", .int(shots))]
        switch kind {
        case .multipleChoice:
            task += prompting
            data = questions.map { .object([("context", .string($0.context)), ("choices", strings($0.choices)), ("gold", .int($0.gold))]) }
        case .generateUntil:
            task += prompting + [("until", strings(stopSequences)), ("max_gen_toks", .int(maxGenTokens)),
                                 ("ignore_case", .bool(ignoreCase)), ("ignore_punctuation", .bool(ignorePunctuation)),
                                 ("regexes_to_ignore", strings(regexesToIgnore))]
            if let f = filter {
                task.append(("filter", .object([("regex", .string(f.regex)), ("select", .int(f.select)), ("fallback", .string(f.fallback))])))
            }
            data = questions.map { .object([("context", .string($0.context)), ("target", .string($0.target))]) }
        case .perplexity:
            if let window { task.append(("window", .int(window))) }
            if let stride { task.append(("stride", .int(stride))) }
            data = documents.map { .object([("text", .string($0))]) }
        case .repetition:
            task.append(("max_gen_toks", .int(maxGenTokens)))
            data = questions.map { q in
                .object([("messages", .array(q.messages.map { .object([("role", .string($0.role.rawValue)), ("content", .string($0.content))]) }))])
            }
        }
        // One line each, with json.dumps's ", " / ": " (what the files looked like when written by hand).
        return ExportedFiles(taskFile: JSONOut.object(task).text(layout: .spaced) + "\n",
                             data: data.map { $0.text(layout: .spaced) }.joined(separator: "\n") + "\n",
                             lmEvalYAML: lmEvalYAML(dataPath: dataPath))
    }

    /// lm-eval task YAML (written in JSON syntax, which YAML reads): fields name the data's columns directly
    /// (`doc_to_text: context`), so no Jinja rendering touches the text; few-shot examples are the first
    /// documents other than the current one (`sampler: first_n`), as in dsllm.
    func lmEvalYAML(dataPath: String) -> String? {
        var f: [(String, JSONOut)] = [
            ("task", .string(lmEvalName)), ("dataset_path", .string("json")),
            ("dataset_kwargs", .object([("data_files", .object([("test", .string(dataPath))]))])), ("test_split", .string("test")),
        ]
        func metric(_ m: String, _ options: [(String, JSONOut)] = []) -> JSONOut {
            .object([("metric", .string(m)), ("aggregation", .string("mean")), ("higher_is_better", .bool(true))] + options)
        }
        let fewshot: [(String, JSONOut)] = [("fewshot_split", .string("test")), ("fewshot_config", .object([("sampler", .string("first_n"))])),
                                            ("num_fewshot", .int(shots)), ("description", .string(description)),
                                            ("target_delimiter", .string(targetDelimiter)), ("fewshot_delimiter", .string(fewshotDelimiter))]
        switch kind {
        case .multipleChoice:
            f += [("output_type", .string("multiple_choice")), ("doc_to_text", .string("context")),
                  ("doc_to_choice", .string("choices")), ("doc_to_target", .string("gold"))] + fewshot
            f.append(("metric_list", .array([metric("acc"), metric("acc_norm")])))
        case .generateUntil:
            f += [("output_type", .string("generate_until")), ("doc_to_text", .string("context")),
                  ("doc_to_target", .string("target"))] + fewshot
            f.append(("generation_kwargs", .object([("until", strings(stopSequences)), ("do_sample", .bool(false)),
                                                    ("temperature", .number(0)), ("max_gen_toks", .int(maxGenTokens))])))
            let options: [(String, JSONOut)] = [("ignore_case", .bool(ignoreCase)), ("ignore_punctuation", .bool(ignorePunctuation)),
                                                ("regexes_to_ignore", strings(regexesToIgnore))]
            f.append(("metric_list", .array([metric("exact_match", options)])))
            if let filter {
                let regex: JSONOut = .object([("function", .string("regex")), ("regex_pattern", .string(filter.regex)),
                                              ("group_select", .int(filter.select)), ("fallback", .string(filter.fallback))])
                f.append(("filter_list", .array([.object([("name", .string("extract")),
                                                          ("filter", .array([regex, .object([("function", .string("take_first"))])]))])])))
            }
        case .perplexity:
            f += [("output_type", .string("loglikelihood_rolling")), ("doc_to_text", .string("")), ("doc_to_target", .string("text"))]
            f.append(("metric_list", .array(["word_perplexity", "byte_perplexity", "bits_per_byte"].map { .object([("metric", .string($0))]) })))
        case .repetition:
            return nil
        }
        return JSONOut.object(f).text(layout: .indented(levels: 1)) + "\n"
    }

    /// lm-eval task names are Python identifiers by convention.
    public var lmEvalName: String { "dsllm_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() }
}

private func strings(_ list: [String]) -> JSONOut { .array(list.map { .string($0) }) }
