import DSFormats
import DSModel
import DSTokenizer
import Foundation

/// An evaluation task: a definition file (YAML in JSON syntax) naming a data file beside it.
///
///     {"name": "tiny-mc", "type": "multiple_choice", "data": "tiny-mc.jsonl",
///      "description": "", "target_delimiter": " ", "fewshot_delimiter": "\n\n", "shots": 0}
///     data lines: {"context": "Question: …\nAnswer:", "choices": ["yes", "no"], "gold": 0}
///
///     {"name": "wiki-ppl", "type": "perplexity", "data": "wiki.jsonl" | "wiki.txt", "window": 512, "stride": 512}
///     data lines: {"text": "…"} (a .txt file is one document)
public struct EvaluationTask: Sendable {
    public enum Kind: String, Sendable { case multipleChoice = "multiple_choice", perplexity }
    public struct Question: Sendable { public var context: String, choices: [String], gold: Int, line: Int }
    public var name: String, kind: Kind
    public var description = "", targetDelimiter = " ", fewshotDelimiter = "\n\n", shots = 0
    public var window: Int?, stride: Int?
    public var questions: [Question] = []
    public var documents: [String] = []

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    public static func load(_ path: String) throws(FormatError) -> EvaluationTask {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw FormatError(file: path, message: "cannot read the task file") }
        let v: JSONValue
        do { v = try JSONValue.parse(Array(bytes)) } catch { throw FormatError(file: path, message: "not a JSON-syntax task definition: \(error)") }
        guard let typeName = v["type"]?.string, let kind = Kind(rawValue: typeName) else {
            throw FormatError(file: path, message: "field \"type\": expected \"multiple_choice\" or \"perplexity\"")
        }
        guard let dataName = v["data"]?.string else { throw FormatError(file: path, message: "field \"data\" (the data file) is required") }
        var t = EvaluationTask(name: v["name"]?.string ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension, kind: kind)
        t.description = v["description"]?.string ?? ""
        t.targetDelimiter = v["target_delimiter"]?.string ?? " "
        t.fewshotDelimiter = v["fewshot_delimiter"]?.string ?? "\n\n"
        t.shots = v["shots"]?.int ?? 0
        t.window = v["window"]?.int
        t.stride = v["stride"]?.int
        let data = dataName.hasPrefix("/") ? dataName : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(dataName)
        guard let text = try? String(contentsOfFile: data, encoding: .utf8) else { throw FormatError(file: data, message: "cannot read the task's data (UTF-8)") }
        if kind == .perplexity && !data.hasSuffix(".jsonl") { t.documents = [text]; return t }
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let o = try? JSONValue.parse(Array(line.utf8)), o.object != nil else { throw FormatError(file: data, message: "line \(i + 1): malformed JSON") }
            switch kind {
            case .perplexity:
                guard let s = o["text"]?.string else { throw FormatError(file: data, message: "line \(i + 1): field \"text\" (a string) is required") }
                t.documents.append(s)
            case .multipleChoice:
                guard let c = o["context"]?.string, let ch = o["choices"]?.array?.compactMap(\.string), ch.count >= 2,
                      let g = o["gold"]?.int else {
                    throw FormatError(file: data, message: "line \(i + 1): needs \"context\" (string), \"choices\" (≥ 2 strings), \"gold\" (index)")
                }
                guard ch.indices.contains(g) else { throw FormatError(file: data, message: "line \(i + 1): gold \(g) is not a choice index (0..<\(ch.count))") }
                t.questions.append(Question(context: c, choices: ch, gold: g, line: i + 1))
            }
        }
        return t
    }
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
