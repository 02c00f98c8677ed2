@testable import DSGeneration
import DSFormats
import DSModel
import DSTokenizer
import Foundation
import Testing

/// Every committed schema, generated from a random model over the real DeepSeek vocabulary at temperature 0.8:
/// whatever the model's preferences, the output must parse as JSON and satisfy the schema whenever generation
/// ended by itself (finish reason "stop"); only a max_tokens cut may leave it incomplete.
@Suite struct JSONSchemaGenerationTests {
    static let schemaDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/schemas")
    static let schemaFiles: [String] = (try? FileManager.default.contentsOfDirectory(atPath: schemaDirectory.path))?
        .filter { $0.hasSuffix(".json") }.sorted() ?? []

    /// One layer, 64 wide: the 102400 × 64 output layer dominates a decode step, so the grammar's cost shows.
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-schema-tests-\(getpid())").path
        let config = ModelConfig(vocabularySize: 102400, hiddenSize: 64, intermediateSize: 128, layerCount: 1, headCount: 2,
                                 kvHeadCount: 1, maxPositions: 1024, bosTokenID: 100000, eosTokenID: 100001)
        try! RandomModel.write(config, to: dir, seed: 11, scale: 0.5)
        return try! ModelWeights.load(path: dir)
    }()

    static func schema(_ file: String) throws -> JSONValue {
        try JSONValue.parse(Array(try Data(contentsOf: schemaDirectory.appendingPathComponent(file))))
    }

    @Test func thereAreAtLeastThirtySchemas() { #expect(Self.schemaFiles.count >= 30) }

    @Test(arguments: schemaFiles) func generatedOutputIsValid(_ file: String) throws {
        let schema = try Self.schema(file)
        let grammar = try JSONSchemaGrammar.grammar(for: schema, strict: true, tokenizer: deepSeekTokenizer)
        let prompt = deepSeekTokenizer.encode("Answer in JSON: ", addBOS: true)
        var complete = 0
        for seed in [UInt64(1), 2, 3] {
            var p = GenerateParameters()
            p.temperature = 0.8
            p.seed = seed
            p.maxTokens = 400
            p.grammar = grammar
            let it = TokenIterator(model: Transformer(weights: Self.weights, maxSequence: 1024, threads: 1),
                                   tokenizer: deepSeekTokenizer, prompt: prompt, parameters: p)
            var text = ""
            for t in it { text += t.text }
            text += it.flush()
            if ProcessInfo.processInfo.environment["DSLLM_PRINT_SCHEMA_OUTPUTS"] != nil { print("\(file) seed \(seed) \(String(describing: it.finishReason)) \(it.generated.count) tokens: \(text)") }
            guard it.finishReason == .stop else {
                #expect(it.finishReason == .length && it.generated.count == 400, "\(file) seed \(seed): \(String(describing: it.finishReason))")
                continue
            }
            complete += 1
            let value: JSONValue
            do { value = try JSONValue.parse(Array(text.utf8)) } catch {
                Issue.record("\(file) seed \(seed): not JSON (\(error)): \(text)")
                continue
            }
            // A second, independent JSON parser.
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil, "\(file): \(text)")
            let violation = SchemaValidator(root: schema).validate(value)
            #expect(violation == nil, "\(file) seed \(seed): \(violation ?? "") in \(text)")
        }
        // Every output ends by itself within 400 tokens, except where the schema allows extra properties: their keys
        // are free text, and a random model rarely picks one of the few tokens that close a string there.
        let freeKeys = String(decoding: try Data(contentsOf: Self.schemaDirectory.appendingPathComponent(file)), as: UTF8.self)
            .contains("\"additionalProperties\": {")
        #expect(complete >= (freeKeys ? 1 : 3), "\(file): only \(complete) of 3 outputs completed within 400 tokens")
    }

    @Test func temperatureZeroAndMaxTokensCutGiveLength() throws {
        let schema = try Self.schema("09-array-of-objects.json")
        var p = GenerateParameters.greedy(maxTokens: 3)
        p.grammar = try JSONSchemaGrammar.grammar(for: schema, strict: true, tokenizer: deepSeekTokenizer)
        let it = TokenIterator(model: Transformer(weights: Self.weights, maxSequence: 1024, threads: 1), tokenizer: deepSeekTokenizer,
                               prompt: [100000, 20], parameters: p)
        var text = ""
        for t in it { text += t.text }
        text += it.flush()
        #expect(it.finishReason == .length && it.generated.count == 3)
        // A prefix of a valid value, not a value.
        #expect(text.hasPrefix("{") && (try? JSONValue.parse(Array(text.utf8))) == nil)
    }

    @Test func promptTokensDoNotAdvanceTheGrammar() throws {
        var p = GenerateParameters.greedy(maxTokens: 20)
        p.grammar = try TokenGrammar(gbnf: #"root ::= "[" [0-9] "]""#, tokenizer: deepSeekTokenizer)
        // A prompt that is itself text the grammar would reject: it is context, not output.
        let it = TokenIterator(model: Transformer(weights: Self.weights, maxSequence: 1024, threads: 1), tokenizer: deepSeekTokenizer,
                               prompt: deepSeekTokenizer.encode("hello {\"a\": 1}", addBOS: true), parameters: p)
        var text = ""
        for t in it { text += t.text }
        #expect(it.finishReason == .stop)
        #expect(text.count == 3 && text.first == "[" && text.last == "]")
    }

    @Test func ignoreEOSStillStopsWhenTheGrammarIsComplete() throws {
        var p = GenerateParameters()
        p.seed = 3
        p.maxTokens = 50
        p.ignoreEOS = true
        p.grammar = try TokenGrammar(gbnf: #"root ::= "yes" | "no""#, tokenizer: deepSeekTokenizer)
        let it = TokenIterator(model: Transformer(weights: Self.weights, maxSequence: 1024, threads: 1), tokenizer: deepSeekTokenizer,
                               prompt: [100000, 20], parameters: p)
        let text = it.map(\.text).joined() + it.flush()
        #expect(it.finishReason == .stop && (text == "yes" || text == "no"))
    }
}
