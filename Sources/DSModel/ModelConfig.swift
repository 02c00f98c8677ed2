import DSFormats
import Foundation

/// Hyperparameters of a LLaMA-style decoder (DeepSeek LLM is `LlamaForCausalLM`).
public struct ModelConfig: Sendable, Equatable, Codable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var maxPositions: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var tieWordEmbeddings: Bool
    /// Always 100000 / 100001 for DeepSeek LLM, whatever a base config.json says (it keeps LLaMA's 1 / 2).
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    public init(vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDim: Int? = nil, maxPositions: Int = 4096, rmsNormEps: Float = 1e-6,
                ropeTheta: Float = 10000, tieWordEmbeddings: Bool = false, bosTokenID: Int? = nil, eosTokenID: Int? = nil) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? hiddenSize / headCount
        self.maxPositions = maxPositions
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    /// DeepSeek LLM 7B: 30 layers × 4096, 32 heads (MHA), FFN 11008, vocabulary 102400.
    public static let deepseekLLM7B = ModelConfig(
        vocabularySize: 102400, hiddenSize: 4096, intermediateSize: 11008, layerCount: 30, headCount: 32, kvHeadCount: 32,
        bosTokenID: 100000, eosTokenID: 100001)

    /// DeepSeek LLM 67B: 95 layers × 8192, 64 heads sharing 8 KV heads (GQA), FFN 22016.
    public static let deepseekLLM67B = ModelConfig(
        vocabularySize: 102400, hiddenSize: 8192, intermediateSize: 22016, layerCount: 95, headCount: 64, kvHeadCount: 8,
        bosTokenID: 100000, eosTokenID: 100001)

    public static let presets: [String: ModelConfig] = ["deepseek-llm-7b": deepseekLLM7B, "deepseek-llm-67b": deepseekLLM67B]

    /// Shapes for training on your own text in minutes on a CPU (the 7B's proportions: head dim 64, FFN ≈ 2.69 × d),
    /// sized for a tokenizer's vocabulary and a context length. tiny: 4 × 256 (3 M non-embedding parameters);
    /// small: 8 × 512 (25 M).
    public static func smallPreset(_ name: String, vocabularySize: Int, context: Int) -> ModelConfig? {
        let (layers, width): (Int, Int)
        switch name {
        case "tiny": (layers, width) = (4, 256)
        case "small": (layers, width) = (8, 512)
        default: return nil
        }
        return ModelConfig(vocabularySize: vocabularySize, hiddenSize: width, intermediateSize: width * 43 / 16 / 16 * 16,
                           layerCount: layers, headCount: width / 64, kvHeadCount: width / 64, maxPositions: context)
    }

    /// Every name `--preset` takes.
    public static let presetNames = ["tiny", "small"] + presets.keys.sorted()

    public var queryDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// Parameter count: per layer 2 norms + q, k, v, o + gate, up, down; embeddings, final norm, head.
    public var parameterCount: Int {
        let attention = hiddenSize * queryDim * 2 + hiddenSize * kvDim * 2
        let ffn = 3 * hiddenSize * intermediateSize
        let perLayer = attention + ffn + 2 * hiddenSize
        let embeddings = vocabularySize * hiddenSize * (tieWordEmbeddings ? 1 : 2)
        return layerCount * perLayer + embeddings + hiddenSize
    }

    /// Checks the invariants the forward pass relies on; the error names the field.
    public func validate(source: String) throws(FormatError) {
        func fail(_ field: String, _ message: String) -> FormatError { FormatError(file: source, field: field, message: message) }
        for (name, v) in [("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                          ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                          ("num_key_value_heads", kvHeadCount), ("head_dim", headDim),
                          ("max_position_embeddings", maxPositions)] where v <= 0 {
            throw fail(name, "must be positive, got \(v)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("num_key_value_heads", "\(kvHeadCount) does not divide num_attention_heads \(headCount)")
        }
        // Sizes far beyond any real model are corrupt files, not models (and would overflow allocations).
        for (name, v) in [("vocab_size", vocabularySize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                          ("head_dim", headDim), ("max_position_embeddings", maxPositions)] where v > 1 << 24 {
            throw fail(name, "\(v) is not a plausible size")
        }
        guard layerCount <= 4096, headCount <= 4096 else { throw fail("num_hidden_layers", "implausible layer or head count") }
        guard headDim % 2 == 0 else { throw fail("head_dim", "RoPE needs an even head dimension, got \(headDim)") }
        guard rmsNormEps > 0, rmsNormEps.isFinite else { throw fail("rms_norm_eps", "must be positive") }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw fail("rope_theta", "must be positive") }
    }
}

extension ModelConfig {
    /// Reads an HF `config.json` (LlamaForCausalLM / model_type llama). `rope_theta` may sit at the top level
    /// or inside `rope_parameters` (transformers ≥ 5); `head_dim` and `num_key_value_heads` are optional.
    public static func load(configJSON path: String) throws(FormatError) -> ModelConfig {
        let file = try MappedFile(path: path)
        let json: JSONValue
        do { json = try JSONValue.parse(file.bytes) } catch {
            throw FormatError(file: path, offset: error.offset, message: "not valid JSON: \(error.message)")
        }
        func int(_ key: String, default value: Int? = nil) throws(FormatError) -> Int {
            if let v = json[key], !v.isNull {
                guard let i = v.int else { throw FormatError(file: path, field: key, message: "expected an integer, found \(v)") }
                return i
            }
            guard let value else { throw FormatError(file: path, field: key, message: "required key is missing") }
            return value
        }
        func float(_ value: JSONValue?, _ key: String) throws(FormatError) -> Float? {
            guard let value, !value.isNull else { return nil }
            guard let d = value.double else { throw FormatError(file: path, field: key, message: "expected a number, found \(value)") }
            return Float(d)
        }
        if let type = json["model_type"]?.string, type != "llama" {
            throw FormatError(file: path, field: "model_type", message: "\"\(type)\" is not supported (expected \"llama\")")
        }
        if let scaling = json["rope_scaling"], !scaling.isNull {
            throw FormatError(file: path, field: "rope_scaling", message: "RoPE scaling is not supported (DeepSeek LLM has none)")
        }
        if let type = json["rope_parameters"]?["rope_type"]?.string, type != "default" {
            throw FormatError(file: path, field: "rope_parameters.rope_type", message: "\"\(type)\" is not supported")
        }
        let heads = try int("num_attention_heads")
        let hidden = try int("hidden_size")
        let topTheta = try float(json["rope_theta"], "rope_theta")
        let nestedTheta = try float(json["rope_parameters"]?["rope_theta"], "rope_parameters.rope_theta")
        let theta = topTheta ?? nestedTheta ?? 10000
        var config = ModelConfig(
            vocabularySize: try int("vocab_size"), hiddenSize: hidden, intermediateSize: try int("intermediate_size"),
            layerCount: try int("num_hidden_layers"), headCount: heads,
            kvHeadCount: try int("num_key_value_heads", default: heads),
            headDim: try int("head_dim", default: hidden / max(heads, 1)),
            maxPositions: try int("max_position_embeddings", default: 4096),
            rmsNormEps: try float(json["rms_norm_eps"], "rms_norm_eps") ?? 1e-6, ropeTheta: theta,
            tieWordEmbeddings: json["tie_word_embeddings"]?.bool ?? false,
            bosTokenID: json["bos_token_id"]?.int, eosTokenID: json["eos_token_id"]?.int)
        for (key, ok) in [("hidden_act", json["hidden_act"]?.string ?? "silu" == "silu"),
                          ("attention_bias", json["attention_bias"]?.bool != true),
                          ("mlp_bias", json["mlp_bias"]?.bool != true)] where !ok {
            throw FormatError(file: path, field: key, message: "unsupported value \(json[key]!) (DeepSeek LLM: silu, no biases)")
        }
        if config.vocabularySize == 102400 && config.bosTokenID == 1 && config.eosTokenID == 2 {
            // DeepSeek base configs keep LLaMA's defaults; the real ids are 100000 / 100001 everywhere else.
            config.bosTokenID = 100000
            config.eosTokenID = 100001
        }
        try config.validate(source: path)
        return config
    }

    /// Reads the `llama.*` hyperparameters of a GGUF file.
    public static func load(gguf: GGUFFile) throws(FormatError) -> ModelConfig {
        let arch = try gguf.requireString("general.architecture")
        guard arch == "llama" else {
            throw FormatError(file: gguf.path, field: "general.architecture", message: "\"\(arch)\" is not supported (expected llama)")
        }
        func int(_ key: String) throws(FormatError) -> Int {
            guard let v = try gguf.optionalInt("llama." + key) else {
                throw FormatError(file: gguf.path, field: "llama." + key, message: "required key is missing")
            }
            return v
        }
        func float(_ key: String, _ d: Float) -> Float { gguf["llama." + key]?.doubleValue.map(Float.init) ?? d }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        var vocab = try gguf.optionalInt("llama.vocab_size")
        if vocab == nil { vocab = gguf.tensors.first { $0.name == TensorNaming.gguf.embedding }.flatMap { $0.dimensions.count == 2 ? $0.dimensions[1] : nil } }
        if vocab == nil, case .array(let tokens)? = gguf["tokenizer.ggml.tokens"] { vocab = tokens.count }
        let output = gguf.tensors.contains { $0.name == TensorNaming.gguf.output }
        let config = ModelConfig(
            vocabularySize: vocab ?? 0, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"), headCount: heads,
            kvHeadCount: try gguf.optionalInt("llama.attention.head_count_kv") ?? heads,
            headDim: try gguf.optionalInt("llama.attention.key_length") ?? hidden / max(heads, 1),
            maxPositions: try gguf.optionalInt("llama.context_length") ?? 4096,
            rmsNormEps: float("attention.layer_norm_rms_epsilon", 1e-6), ropeTheta: float("rope.freq_base", 10000),
            tieWordEmbeddings: !gguf.tensors.isEmpty && !output,
            bosTokenID: try gguf.optionalInt("tokenizer.ggml.bos_token_id"),
            eosTokenID: try gguf.optionalInt("tokenizer.ggml.eos_token_id"))
        try config.validate(source: gguf.path)
        return config
    }
}
