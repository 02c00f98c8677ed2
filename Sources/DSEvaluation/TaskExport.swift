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
        var task: [(String, String)] = [("name", jsonQuoted(name)), ("type", jsonQuoted(kind.rawValue)), ("data", jsonQuoted(name + ".jsonl"))]
        var data: [String] = []
        switch kind {
        case .multipleChoice:
            task += [("description", jsonQuoted(description)), ("target_delimiter", jsonQuoted(targetDelimiter)),
                     ("fewshot_delimiter", jsonQuoted(fewshotDelimiter)), ("shots", "\(shots)")]
            data = questions.map { "{\"context\": \(jsonQuoted($0.context)), \"choices\": [\($0.choices.map(jsonQuoted).joined(separator: ", "))], \"gold\": \($0.gold)}" }
        case .generateUntil:
            task += [("description", jsonQuoted(description)), ("target_delimiter", jsonQuoted(targetDelimiter)),
                     ("fewshot_delimiter", jsonQuoted(fewshotDelimiter)), ("shots", "\(shots)"),
                     ("until", "[\(stopSequences.map(jsonQuoted).joined(separator: ", "))]"), ("max_gen_toks", "\(maxGenTokens)"),
                     ("ignore_case", "\(ignoreCase)"), ("ignore_punctuation", "\(ignorePunctuation)"),
                     ("regexes_to_ignore", "[\(regexesToIgnore.map(jsonQuoted).joined(separator: ", "))]")]
            if let f = filter {
                task.append(("filter", "{\"regex\": \(jsonQuoted(f.regex)), \"select\": \(f.select), \"fallback\": \(jsonQuoted(f.fallback))}"))
            }
            data = questions.map { "{\"context\": \(jsonQuoted($0.context)), \"target\": \(jsonQuoted($0.target))}" }
        case .perplexity:
            if let window { task.append(("window", "\(window)")) }
            if let stride { task.append(("stride", "\(stride)")) }
            data = documents.map { "{\"text\": \(jsonQuoted($0))}" }
        case .repetition:
            task.append(("max_gen_toks", "\(maxGenTokens)"))
            data = questions.map { q in
                "{\"messages\": [\(q.messages.map { "{\"role\": \(jsonQuoted($0.role.rawValue)), \"content\": \(jsonQuoted($0.content))}" }.joined(separator: ", "))]}"
            }
        }
        let taskFile = "{" + task.map { "\(jsonQuoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}\n"
        return ExportedFiles(taskFile: taskFile, data: data.joined(separator: "\n") + "\n", lmEvalYAML: lmEvalYAML(dataPath: dataPath))
    }

    /// lm-eval task YAML (written in JSON syntax, which YAML reads): fields name the data's columns directly
    /// (`doc_to_text: context`), so no Jinja rendering touches the text; few-shot examples are the first
    /// documents other than the current one (`sampler: first_n`), as in dsllm.
    func lmEvalYAML(dataPath: String) -> String? {
        var f: [(String, String)] = [
            ("task", jsonQuoted(lmEvalName)), ("dataset_path", jsonQuoted("json")),
            ("dataset_kwargs", "{\"data_files\": {\"test\": \(jsonQuoted(dataPath))}}"), ("test_split", jsonQuoted("test")),
        ]
        func metric(_ m: String, _ extra: String = "") -> String {
            "{\"metric\": \(jsonQuoted(m)), \"aggregation\": \"mean\", \"higher_is_better\": true\(extra)}"
        }
        let fewshot: [(String, String)] = [("fewshot_split", jsonQuoted("test")), ("fewshot_config", "{\"sampler\": \"first_n\"}"),
                                          ("num_fewshot", "\(shots)"), ("description", jsonQuoted(description)),
                                          ("target_delimiter", jsonQuoted(targetDelimiter)), ("fewshot_delimiter", jsonQuoted(fewshotDelimiter))]
        switch kind {
        case .multipleChoice:
            f += [("output_type", jsonQuoted("multiple_choice")), ("doc_to_text", jsonQuoted("context")),
                  ("doc_to_choice", jsonQuoted("choices")), ("doc_to_target", jsonQuoted("gold"))] + fewshot
            f.append(("metric_list", "[\(metric("acc")), \(metric("acc_norm"))]"))
        case .generateUntil:
            f += [("output_type", jsonQuoted("generate_until")), ("doc_to_text", jsonQuoted("context")),
                  ("doc_to_target", jsonQuoted("target"))] + fewshot
            f.append(("generation_kwargs", "{\"until\": [\(stopSequences.map(jsonQuoted).joined(separator: ", "))], \"do_sample\": false, "
                + "\"temperature\": 0.0, \"max_gen_toks\": \(maxGenTokens)}"))
            let options = ", \"ignore_case\": \(ignoreCase), \"ignore_punctuation\": \(ignorePunctuation), "
                + "\"regexes_to_ignore\": [\(regexesToIgnore.map(jsonQuoted).joined(separator: ", "))]"
            f.append(("metric_list", "[\(metric("exact_match", options))]"))
            if let filter {
                f.append(("filter_list", "[{\"name\": \"extract\", \"filter\": [{\"function\": \"regex\", \"regex_pattern\": \(jsonQuoted(filter.regex)), "
                    + "\"group_select\": \(filter.select), \"fallback\": \(jsonQuoted(filter.fallback))}, {\"function\": \"take_first\"}]}]"))
            }
        case .perplexity:
            f += [("output_type", jsonQuoted("loglikelihood_rolling")), ("doc_to_text", jsonQuoted("")), ("doc_to_target", jsonQuoted("text"))]
            f.append(("metric_list", "[{\"metric\": \"word_perplexity\"}, {\"metric\": \"byte_perplexity\"}, {\"metric\": \"bits_per_byte\"}]"))
        case .repetition:
            return nil
        }
        return "{\n" + f.map { "  \(jsonQuoted($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// lm-eval task names are Python identifiers by convention.
    public var lmEvalName: String { "dsllm_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() }
}
