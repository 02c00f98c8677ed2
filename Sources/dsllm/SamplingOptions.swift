import ArgumentParser
import DSGeneration
import DSModel

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
