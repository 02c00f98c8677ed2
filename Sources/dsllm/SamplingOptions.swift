import ArgumentParser
import DSFormats
import DSGeneration
import DSModel
import DSTokenizer
import Foundation

/// Sampling flags shared by `generate` and `chat` (llama.cpp's names and defaults, OpenAI's penalties).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy (default: the model's generation_config.json, else 0.8).") var temperature: Float?
    @Option(help: "Keep the k most likely tokens (0 = off; default: generation_config.json's, else 40).") var topK: Int?
    @Option(help: "Nucleus sampling mass (1 = off; default: generation_config.json's, else 0.95).") var topP: Float?
    @Option(help: "Drop tokens below min-p × the top probability (0 = off).") var minP: Float = 0.05
    @Option(help: "Repetition penalty over the last --penalty-last-n tokens (1 = off).") var repeatPenalty: Float = 1
    @Option(help: "OpenAI frequency penalty.") var frequencyPenalty: Float = 0
    @Option(help: "OpenAI presence penalty.") var presencePenalty: Float = 0
    @Option(help: "Tokens the penalties look back over (-1 = all).") var penaltyLastN = 64
    @Option(help: "Seed for sampling (same seed, same output); random by default.") var seed: UInt64?
    @Option(parsing: .singleValue, help: "Stop before this string (repeatable).") var stop: [String] = []
    @Option(name: .customLong("stop-id"), parsing: .singleValue, help: "Stop after this token id (repeatable).") var stopIDs: [Int32] = []
    @Option(name: .customLong("logit-bias"), parsing: .singleValue, help: "ID=BIAS added to a token's logit (repeatable; -inf bans).")
    var logitBias: [String] = []
    @Flag(help: "Keep generating past the end-of-sequence token (--stop and --stop-id still stop).") var ignoreEOS = false
    @Option(name: .customLong("json-schema"), help: ArgumentHelp(
        "Only generate JSON valid under this JSON Schema (a file, or the schema itself when it starts with '{'). Unsupported keywords are an error.",
        valueName: "file"))
    var jsonSchema: String?
    @Flag(name: .customLong("strict"), help: "With --json-schema: objects without 'additionalProperties' allow no extra properties (OpenAI's strict mode).")
    var strictSchema = false
    @Option(help: ArgumentHelp("Only generate text this GBNF grammar (llama.cpp's syntax, start rule 'root') allows.", valueName: "file"))
    var grammar: String?

    /// The flags, falling back to the model's generation_config.json (`defaults`), then to dsllm's own defaults.
    func parameters(maxTokens: Int, defaults: GenerationConfig? = nil) throws -> GenerateParameters {
        var p = GenerateParameters()
        p.maxTokens = maxTokens
        p.temperature = temperature ?? defaults?.defaultTemperature ?? 0.8
        p.topK = topK ?? defaults?.topK ?? 40
        p.topP = topP ?? defaults?.topP ?? 0.95
        p.minP = minP
        p.repetitionPenalty = repeatPenalty
        p.frequencyPenalty = frequencyPenalty
        p.presencePenalty = presencePenalty
        p.penaltyLastN = penaltyLastN
        p.seed = seed
        p.stop = stop
        p.stopIDs = Set(stopIDs)
        p.ignoreEOS = ignoreEOS
        for item in logitBias {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = Int32(parts[0]), let b = Float(parts[1].replacingOccurrences(of: "inf", with: "infinity")) else {
                throw CLIError("--logit-bias \(item): expected ID=BIAS, e.g. 100001=-inf")
            }
            p.logitBias[id] = b
        }
        do { try p.validate() } catch { throw CLIError(Self.withFlagNames(error.description)) }
        return p
    }

    /// --json-schema / --grammar compiled over the tokenizer's vocabulary (nil when neither is given).
    func tokenGrammar(tokenizer: Tokenizer?) throws -> TokenGrammar? {
        if jsonSchema != nil && grammar != nil { throw CLIError("give --json-schema or --grammar, not both") }
        if strictSchema && jsonSchema == nil { throw CLIError("--strict applies to --json-schema") }
        guard jsonSchema != nil || grammar != nil else { return nil }
        let flag = jsonSchema != nil ? "--json-schema" : "--grammar"
        guard let tokenizer else { throw CLIError("\(flag) needs a tokenizer: give --tokenizer PATH") }
        if let jsonSchema {
            let inline = jsonSchema.trimmingCharacters(in: .whitespaces).hasPrefix("{")
            let bytes = inline ? Array(jsonSchema.utf8) : try readInput(file: jsonSchema)
            let schema: JSONValue
            do { schema = try JSONValue.parse(bytes) } catch { throw CLIError("--json-schema \(inline ? "" : jsonSchema + ": ")\(error.description)") }
            do { return try JSONSchemaGrammar.grammar(for: schema, strict: strictSchema, tokenizer: tokenizer) } catch {
                throw CLIError("--json-schema \(inline ? "" : jsonSchema + ": ")\(error.description)")
            }
        }
        let file = grammar!
        let text = String(decoding: try readInput(file: file), as: UTF8.self)
        do { return try TokenGrammar(gbnf: text, tokenizer: tokenizer) } catch { throw CLIError("--grammar \(file): \(error.description)") }
    }

    /// GenerateParameters' messages name fields as the server's JSON does (`repetition_penalty`); on the command
    /// line the same message must name the flag a user types (`--repeat-penalty`).
    static func withFlagNames(_ message: String) -> String {
        let flags = ["max_tokens": "--max-tokens", "temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p",
                     "min_p": "--min-p", "repetition_penalty": "--repeat-penalty", "frequency_penalty": "--frequency-penalty",
                     "presence_penalty": "--presence-penalty", "penalty_last_n": "--penalty-last-n", "stop": "--stop"]
        let field = message.prefix { $0 != " " }
        guard let flag = flags[String(field)] else { return message }
        return flag + message.dropFirst(field.count)
    }
}
