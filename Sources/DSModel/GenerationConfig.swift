import DSFormats
import Foundation

/// `generation_config.json` of an HF model folder: the token ids and sampling defaults the model was released with.
/// DeepSeek's base repos keep LLaMA's BOS/EOS 1/2 in config.json while the real ids (100000/100001) are here, and the
/// chat repos set temperature 0.7 / top_p 0.95. `generate`, `chat` and the server use these when the user or the
/// request gives none.
public struct GenerationConfig: Sendable, Equatable {
    public var bosTokenID: Int?
    /// transformers allows one id or a list; the first is the model's EOS, all of them end generation.
    public var eosTokenIDs: [Int] = []
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    /// `do_sample: false` means greedy in transformers, whatever the temperature says.
    public var doSample: Bool?

    public init() {}

    /// The temperature to use when none is given: 0 (greedy) where do_sample is false, else the file's temperature.
    public var defaultTemperature: Float? { doSample == false ? 0 : temperature }

    /// Reads `directory/generation_config.json`; nil when the folder has none. Wrong types are errors naming the key.
    public static func load(directory: String) throws(FormatError) -> GenerationConfig? {
        let path = (directory as NSString).appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try load(path: path)
    }

    public static func load(path: String) throws(FormatError) -> GenerationConfig {
        let file = try MappedFile(path: path)
        let json: JSONValue
        do { json = try JSONValue.parse(file.bytes) } catch {
            throw FormatError(file: path, offset: error.offset, message: "not valid JSON: \(error.message)")
        }
        func present(_ key: String) -> JSONValue? { json[key].flatMap { $0.isNull ? nil : $0 } }
        func int(_ v: JSONValue, _ key: String) throws(FormatError) -> Int {
            guard let i = v.int, i >= 0 else { throw FormatError(file: path, field: key, message: "expected a token id, found \(v)") }
            return i
        }
        func number(_ key: String) throws(FormatError) -> Float? {
            guard let v = present(key) else { return nil }
            guard let d = v.double, d.isFinite, d >= 0 else { throw FormatError(file: path, field: key, message: "expected a non-negative number, found \(v)") }
            return Float(d)
        }
        var g = GenerationConfig()
        if let v = present("bos_token_id") { g.bosTokenID = try int(v, "bos_token_id") }
        if let v = present("eos_token_id") {
            if let list = v.array {
                for item in list { g.eosTokenIDs.append(try int(item, "eos_token_id")) }
            } else {
                g.eosTokenIDs = [try int(v, "eos_token_id")]
            }
        }
        g.temperature = try number("temperature")
        g.topP = try number("top_p")
        if let p = g.topP, p == 0 || p > 1 { throw FormatError(file: path, field: "top_p", message: "expected a value in (0, 1], found \(p)") }
        if let v = present("top_k") { g.topK = try int(v, "top_k") }
        if let v = present("do_sample") {
            guard let b = v.bool else { throw FormatError(file: path, field: "do_sample", message: "expected true or false, found \(v)") }
            g.doSample = b
        }
        return g
    }
}
