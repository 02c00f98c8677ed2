import DSFormats
import Foundation

/// One document of a corpus: its text and where it came from. `dump` is the crawl (or snapshot) it was
/// collected in — deduplication across dumps is what the paper measures — and `domain` drives remixing.
public struct Document: Sendable, Equatable {
    public var id: String
    public var text: String
    public var dump: String
    public var domain: String
    public var lang: String

    public init(id: String, text: String, dump: String = "", domain: String = "", lang: String = "") {
        self.id = id
        self.text = text
        self.dump = dump
        self.domain = domain
        self.lang = lang
    }

    /// The document store's line: {"id", "text", "dump", "domain", "lang"} (empty fields omitted).
    public var jsonLine: String {
        var fields: [(String, JSONOut)] = [("id", .string(id)), ("text", .string(text))]
        if !dump.isEmpty { fields.append(("dump", .string(dump))) }
        if !domain.isEmpty { fields.append(("domain", .string(domain))) }
        if !lang.isEmpty { fields.append(("lang", .string(lang))) }
        return JSONOut.object(fields).text + "\n"
    }

    public enum ParseProblem: Error, Sendable, Equatable {
        case invalidJSON(String)
        case notAnObject
        case missingText
        case invalidUTF8
    }

    /// Parses one JSONL line: `text` is required (a string), `id`, `dump`, `domain`, `lang` are optional
    /// strings (numbers are accepted for `id`). Invalid UTF-8 is reported, never silently repaired.
    public static func parse(jsonLine bytes: UnsafeBufferPointer<UInt8>, defaultID: @autoclosure () -> String) -> Result<Document, ParseProblem> {
        guard String(validating: bytes, as: UTF8.self) != nil else { return .failure(.invalidUTF8) }
        let value: JSONValue
        do { value = try JSONValue.parse(UnsafeRawBufferPointer(bytes)) } catch { return .failure(.invalidJSON(error.description)) }
        guard let o = value.object else { return .failure(.notAnObject) }
        guard let text = o["text"]?.string else { return .failure(.missingText) }
        let id = o["id"]?.string ?? o["id"]?.int.map(String.init) ?? defaultID()
        return .success(Document(id: id, text: text, dump: o["dump"]?.string ?? "", domain: o["domain"]?.string ?? "",
                                 lang: o["lang"]?.string ?? ""))
    }
}
