import DSFormats
import DSModel
import DSTokenizer
import Foundation

/// An evaluation task: a definition file (YAML in JSON syntax) naming a data file beside it, or a built-in task.
///
///     {"name": "tiny-mc", "type": "multiple_choice", "data": "tiny-mc.jsonl",
///      "description": "", "target_delimiter": " ", "fewshot_delimiter": "\n\n", "shots": 0}
///     data lines: {"context": "Question: …\nAnswer:", "choices": ["yes", "no"], "gold": 0}
///
///     {"name": "sums", "type": "generate_until", "data": "sums.jsonl", "until": ["\n\n"], "max_gen_toks": 32,
///      "filter": {"regex": "#### (\\-?[0-9\\.\\,]+)", "select": 0, "fallback": "[invalid]"},
///      "ignore_case": false, "ignore_punctuation": false, "regexes_to_ignore": [",", "(?s).*#### "]}
///     data lines: {"context": "Question: …\nAnswer:", "target": "… #### 12"}
///
///     {"name": "wiki-ppl", "type": "perplexity", "data": "wiki.jsonl" | "wiki.txt", "window": 512, "stride": 512}
///     data lines: {"text": "…"} (a .txt file is one document)
///
///     {"name": "chat-rep", "type": "repetition", "data": "prompts.jsonl", "max_gen_toks": 512}
///     data lines: {"prompt": "…"} or {"messages": [{"role": "user", "content": "…"}, …]}
public struct EvaluationTask: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case multipleChoice = "multiple_choice", generateUntil = "generate_until", perplexity, repetition
    }
    public struct Question: Sendable {
        public var context: String
        public var choices: [String] = []
        public var gold = 0
        public var target = ""
        public var messages: [ChatMessage] = []
        public var line = 0
        public init(context: String, choices: [String] = [], gold: Int = 0, target: String = "", line: Int = 0) {
            self.context = context
            self.choices = choices
            self.gold = gold
            self.target = target
            self.line = line
        }
    }
    /// lm-eval's RegexFilter: the `select`-th match (negative counts from the end) of `regex`; a match's value is
    /// its first capture group (the first non-empty one when there are several), else the whole match; stripped.
    public struct AnswerFilter: Sendable {
        public var regex: String, select = 0, fallback = "[invalid]"
        public init(regex: String, select: Int = 0, fallback: String = "[invalid]") {
            self.regex = regex
            self.select = select
            self.fallback = fallback
        }
    }
    public var name: String, kind: Kind
    public var description = "", targetDelimiter = " ", fewshotDelimiter = "\n\n", shots = 0
    public var window: Int?, stride: Int?
    public var questions: [Question] = []
    public var documents: [String] = []
    // Generation (generate_until, repetition).
    public var until: [String]?            // nil: [fewshot_delimiter] (lm-eval's default)
    public var maxGenTokens = 256
    public var filter: AnswerFilter?
    public var ignoreCase = false, ignorePunctuation = false
    public var regexesToIgnore: [String] = []

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// A task file, or a built-in task's name (`EvaluationTask.builtinNames`).
    public static func load(_ pathOrName: String) throws(FormatError) -> EvaluationTask {
        if !FileManager.default.fileExists(atPath: pathOrName), let t = builtin(pathOrName) { return t }
        let path = pathOrName
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw FormatError(file: path, message: "cannot read the task file (built-in tasks: \(builtinNames.joined(separator: ", ")))")
        }
        let v: JSONValue
        do { v = try JSONValue.parse(Array(bytes)) } catch { throw FormatError(file: path, message: "not a JSON-syntax task definition: \(error)") }
        guard let typeName = v["type"]?.string, let kind = Kind(rawValue: typeName) else {
            throw FormatError(file: path, message: "field \"type\": expected one of \(Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        guard let dataName = v["data"]?.string else { throw FormatError(file: path, message: "field \"data\" (the data file) is required") }
        var t = EvaluationTask(name: v["name"]?.string ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension, kind: kind)
        func field<T>(_ key: String, _ get: (JSONValue) -> T?, _ what: String) throws(FormatError) -> T? {
            guard let x = v[key] else { return nil }
            guard let value = get(x) else { throw FormatError(file: path, message: "field \"\(key)\": expected \(what)") }
            return value
        }
        func strings(_ x: JSONValue) -> [String]? {
            guard let a = x.array else { return nil }
            let s = a.compactMap(\.string)
            return s.count == a.count ? s : nil
        }
        t.description = try field("description", \.string, "a string") ?? ""
        t.targetDelimiter = try field("target_delimiter", \.string, "a string") ?? " "
        t.fewshotDelimiter = try field("fewshot_delimiter", \.string, "a string") ?? "\n\n"
        t.shots = try field("shots", \.int, "an integer") ?? 0
        t.window = try field("window", \.int, "an integer")
        t.stride = try field("stride", \.int, "an integer")
        t.until = try field("until", strings, "an array of strings")
        t.maxGenTokens = try field("max_gen_toks", \.int, "an integer") ?? (kind == .repetition ? 512 : 256)
        t.ignoreCase = try field("ignore_case", \.bool, "true or false") ?? false
        t.ignorePunctuation = try field("ignore_punctuation", \.bool, "true or false") ?? false
        t.regexesToIgnore = try field("regexes_to_ignore", strings, "an array of strings (regular expressions)") ?? []
        if let f = v["filter"] {
            guard let re = f["regex"]?.string else { throw FormatError(file: path, message: "field \"filter\": needs \"regex\" (a string)") }
            t.filter = AnswerFilter(regex: re, select: f["select"]?.int ?? 0, fallback: f["fallback"]?.string ?? "[invalid]")
        }
        for re in t.regexesToIgnore + (t.filter.map { [$0.regex] } ?? []) where (try? NSRegularExpression(pattern: re)) == nil {
            throw FormatError(file: path, message: "not a valid regular expression: \(re)")
        }
        if t.shots < 0 || t.maxGenTokens < 1 { throw FormatError(file: path, message: "\"shots\" must be ≥ 0 and \"max_gen_toks\" ≥ 1") }
        let data = dataName.hasPrefix("/") ? dataName : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(dataName)
        guard let text = try? String(contentsOfFile: data, encoding: .utf8) else { throw FormatError(file: data, message: "cannot read the task's data (UTF-8)") }
        if kind == .perplexity && !data.hasSuffix(".jsonl") { t.documents = [text]; return t }
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
            try t.addLine(line, number: i + 1, file: data)
        }
        if t.questions.isEmpty && t.documents.isEmpty { throw FormatError(file: data, message: "no data lines") }
        return t
    }

    mutating func addLine(_ line: Substring, number n: Int, file: String) throws(FormatError) {
        guard let o = try? JSONValue.parse(Array(line.utf8)), o.object != nil else { throw FormatError(file: file, message: "line \(n): malformed JSON") }
        switch kind {
        case .perplexity:
            guard let s = o["text"]?.string else { throw FormatError(file: file, message: "line \(n): field \"text\" (a string) is required") }
            documents.append(s)
        case .multipleChoice:
            guard let c = o["context"]?.string, let ch = o["choices"]?.array?.compactMap(\.string), ch.count >= 2,
                  let g = o["gold"]?.int else {
                throw FormatError(file: file, message: "line \(n): needs \"context\" (string), \"choices\" (≥ 2 strings), \"gold\" (index)")
            }
            guard ch.indices.contains(g) else { throw FormatError(file: file, message: "line \(n): gold \(g) is not a choice index (0..<\(ch.count))") }
            questions.append(Question(context: c, choices: ch, gold: g, line: n))
        case .generateUntil:
            guard let c = o["context"]?.string, let target = o["target"]?.string else {
                throw FormatError(file: file, message: "line \(n): needs \"context\" (string) and \"target\" (string)")
            }
            questions.append(Question(context: c, target: target, line: n))
        case .repetition:
            var q = Question(context: "", line: n)
            if let p = o["prompt"]?.string {
                q.messages = [ChatMessage(role: .user, content: p)]
            } else if let ms = o["messages"]?.array, !ms.isEmpty {
                for (k, m) in ms.enumerated() {
                    guard let r = m["role"]?.string, let role = ChatMessage.Role(rawValue: r), let content = m["content"]?.string else {
                        throw FormatError(file: file, message: "line \(n): messages[\(k)] needs \"role\" (system, user or assistant) and \"content\" (string)")
                    }
                    q.messages.append(ChatMessage(role: role, content: content))
                }
            } else {
                throw FormatError(file: file, message: "line \(n): needs \"prompt\" (string) or \"messages\" (non-empty array)")
            }
            questions.append(q)
        }
    }

    /// The stop strings of a generation task: `until`, else lm-eval's default `[fewshot_delimiter]`.
    public var stopSequences: [String] { until ?? (fewshotDelimiter.isEmpty ? [] : [fewshotDelimiter]) }
}

/// lm-evaluation-harness's encoding of a (context, continuation) pair (`_encode_pair`): trailing spaces of the
/// context move to the continuation; the continuation's ids are those of context + continuation after the
/// context's ids; an empty context becomes the prefix token (BOS, else EOS).
public func encodePair(_ tokenizer: Tokenizer, context: String, continuation: String) -> (context: [Int32], continuation: [Int32]) {
    var ctx = context, cont = continuation
    let trailing = ctx.reversed().prefix { $0 == " " }.count
    if trailing > 0 {
        cont = String(ctx.suffix(trailing)) + cont
        ctx = String(ctx.dropLast(trailing))
    }
    let whole = tokenizer.encode(ctx + cont, addBOS: false, parseSpecial: false).map { Int32($0) }
    var c = tokenizer.encode(ctx, addBOS: false, parseSpecial: false).map { Int32($0) }
    let rest = Array(whole[min(c.count, whole.count)...])
    if c.isEmpty { c = [Int32(tokenizer.bosID ?? tokenizer.eosID ?? 0)] }
    return (c, rest)
}
