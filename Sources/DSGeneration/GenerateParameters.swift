/// How to pick the next token and when to stop, with llama.cpp's defaults (temperature 0.8, top-k 40,
/// top-p 0.95, min-p 0.05, no penalties). Temperature 0 is greedy: the processors are skipped and the
/// highest logit wins (ties to the lowest id), so greedy output is the same everywhere.
public struct GenerateParameters: Sendable, Equatable {
    /// Tokens to generate at most.
    public var maxTokens: Int = 256
    /// Logits are divided by this before sampling; 0 = greedy.
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens; 0 = off.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 = off.
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP × the most likely one; 0 = off.
    public var minP: Float = 0.05
    /// CTRL-style repetition penalty on tokens in the last `penaltyLastN` (logit / r if positive, × r if not); 1 = off.
    public var repetitionPenalty: Float = 1
    /// OpenAI's frequency penalty: logit −= count × f over the last `penaltyLastN` tokens.
    public var frequencyPenalty: Float = 0
    /// OpenAI's presence penalty: logit −= p once for every token seen in the last `penaltyLastN`.
    public var presencePenalty: Float = 0
    /// How many recent tokens (prompt included) the penalties look at; -1 = the whole context.
    public var penaltyLastN: Int = 64
    /// Added to the logits of these ids before anything else (−infinity bans a token).
    public var logitBias: [Int32: Float] = [:]
    /// Same seed, same output; nil draws a seed from the system.
    public var seed: UInt64?
    /// Generation stops before any of these strings (matched across token boundaries; not emitted).
    public var stop: [String] = []
    /// Generation stops after any of these ids (the tokenizer's end-of-sequence is added by the caller).
    public var stopIDs: Set<Int32> = []
    /// Keep generating past the end-of-sequence token (llama.cpp's ignore_eos). Only EOS stops being a stop:
    /// stop strings and `stopIDs` still end generation.
    public var ignoreEOS = false
    /// Only tokens this grammar allows are sampled (JSON schema, GBNF); once it is complete only the stop ids are.
    /// Compiled against the tokenizer (`TokenGrammar(gbnf:tokenizer:)`, `JSONSchemaGrammar`); nil = unconstrained.
    public var grammar: TokenGrammar?

    public init() {}

    /// Greedy decoding for `maxTokens` tokens.
    public static func greedy(maxTokens: Int) -> GenerateParameters {
        var p = GenerateParameters()
        p.temperature = 0
        p.maxTokens = maxTokens
        return p
    }

    /// Checks ranges; the message names the field as a user would type it.
    public func validate() throws(GenerationError) {
        if maxTokens < 0 { throw GenerationError("max_tokens must be ≥ 0, got \(maxTokens)") }
        if !(temperature >= 0) || !temperature.isFinite { throw GenerationError("temperature must be ≥ 0, got \(temperature)") }
        if topK < 0 { throw GenerationError("top_k must be ≥ 0, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw GenerationError("top_p must be in (0, 1], got \(topP)") }
        if !(minP >= 0 && minP <= 1) { throw GenerationError("min_p must be in [0, 1], got \(minP)") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { throw GenerationError("repetition_penalty must be > 0, got \(repetitionPenalty)") }
        if !frequencyPenalty.isFinite || abs(frequencyPenalty) > 2 { throw GenerationError("frequency_penalty must be in [-2, 2], got \(frequencyPenalty)") }
        if !presencePenalty.isFinite || abs(presencePenalty) > 2 { throw GenerationError("presence_penalty must be in [-2, 2], got \(presencePenalty)") }
        if penaltyLastN < -1 { throw GenerationError("penalty_last_n must be ≥ -1, got \(penaltyLastN)") }
        if stop.contains(where: \.isEmpty) { throw GenerationError("stop strings must not be empty") }
    }
}

public struct GenerationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Why a generation ended, in OpenAI's words.
public enum FinishReason: String, Sendable {
    /// A stop string or stop id (end of sequence included).
    case stop
    /// maxTokens reached, or the context is full.
    case length
    /// The caller stopped it (a client went away, Ctrl-C).
    case cancelled
}
