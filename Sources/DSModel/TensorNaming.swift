/// One of the nine tensors of a decoder layer, in transformers' state_dict order.
public enum LayerTensor: Int, CaseIterable, Sendable {
    case attentionNorm, wq, wk, wv, wo, ffnNorm, wGate, wUp, wDown
}

/// One tensor of a LLaMA-architecture model, whatever a file format calls it: the nine of each layer and the
/// embedding, final norm and output head.
public enum ModelTensor: Hashable, Sendable {
    case embedding
    case layer(Int, LayerTensor)
    case finalNorm
    case output

    /// Every tensor in transformers' state_dict order, which is the order of the training slab, of checkpoints
    /// and of exported files: embedding; per layer attention norm, q, k, v, o, FFN norm, gate, up, down; final
    /// norm; output head (left out with `output: false`, for tied embeddings).
    public static func all(layerCount: Int, output: Bool = true) -> [ModelTensor] {
        var list: [ModelTensor] = [.embedding]
        for l in 0..<layerCount { list += LayerTensor.allCases.map { .layer(l, $0) } }
        list.append(.finalNorm)
        if output { list.append(.output) }
        return list
    }

    /// RMSNorm gains (vectors): stored f32 by every writer, initialized to 1, never weight-decayed.
    public var isNorm: Bool {
        switch self {
        case .finalNorm, .layer(_, .attentionNorm), .layer(_, .ffnNorm): true
        default: false
        }
    }

    /// q and k: RoPE rotates their output rows, which GGUF stores in llama.cpp's interleaved order (the row
    /// permutation itself is ModelExport's `ggufRow` / `hfRow`).
    public var isRoPERotated: Bool {
        switch self {
        case .layer(_, .wq), .layer(_, .wk): true
        default: false
        }
    }

    /// The shape under `c`, in PyTorch order ([out, in] for matrices); GGUF stores the dimensions reversed.
    public func shape(_ c: ModelConfig) -> [Int] {
        let (d, f) = (c.hiddenSize, c.intermediateSize)
        switch self {
        case .embedding, .output: return [c.vocabularySize, d]
        case .finalNorm: return [d]
        case .layer(_, let t):
            switch t {
            case .attentionNorm, .ffnNorm: return [d]
            case .wq: return [c.queryDim, d]
            case .wk, .wv: return [c.kvDim, d]
            case .wo: return [d, c.queryDim]
            case .wGate, .wUp: return [f, d]
            case .wDown: return [d, f]
            }
        }
    }
}

/// Tensor names of a checkpoint format: transformers' LlamaForCausalLM (`hf`) or llama.cpp's GGUF (`gguf`).
/// The one place these names are spelled: loading, export, quantization, the training slab and checkpoints
/// all go through it. (GGUF's q/k row permutation is a matter of the data, in ModelExport.)
public struct TensorNaming: Sendable {
    public let embedding, finalNorm, output: String
    /// What precedes a layer's index in its tensors' names ("model.layers." / "blk.").
    public let layerPrefix: String
    /// Names of a layer's tensors after "<prefix><index>.", indexed by `LayerTensor.rawValue`.
    private let suffixes: [String]
    private let layerTensorsBySuffix: [String: LayerTensor]

    init(embedding: String, finalNorm: String, output: String, layerPrefix: String, attentionNorm: String, wq: String,
         wk: String, wv: String, wo: String, ffnNorm: String, wGate: String, wUp: String, wDown: String) {
        (self.embedding, self.finalNorm, self.output, self.layerPrefix) = (embedding, finalNorm, output, layerPrefix)
        suffixes = [attentionNorm, wq, wk, wv, wo, ffnNorm, wGate, wUp, wDown]  // LayerTensor's case order
        layerTensorsBySuffix = Dictionary(uniqueKeysWithValues: zip(suffixes, LayerTensor.allCases))
    }

    public static let hf = TensorNaming(
        embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight", output: "lm_head.weight",
        layerPrefix: "model.layers.", attentionNorm: "input_layernorm.weight", wq: "self_attn.q_proj.weight",
        wk: "self_attn.k_proj.weight", wv: "self_attn.v_proj.weight", wo: "self_attn.o_proj.weight",
        ffnNorm: "post_attention_layernorm.weight", wGate: "mlp.gate_proj.weight", wUp: "mlp.up_proj.weight",
        wDown: "mlp.down_proj.weight")

    public static let gguf = TensorNaming(
        embedding: "token_embd.weight", finalNorm: "output_norm.weight", output: "output.weight",
        layerPrefix: "blk.", attentionNorm: "attn_norm.weight", wq: "attn_q.weight", wk: "attn_k.weight",
        wv: "attn_v.weight", wo: "attn_output.weight", ffnNorm: "ffn_norm.weight", wGate: "ffn_gate.weight",
        wUp: "ffn_up.weight", wDown: "ffn_down.weight")

    /// Layer `l`'s tensor whose name ends in `suffix` (a `suffix(_:)`).
    public func layer(_ l: Int, _ suffix: String) -> String { "\(layerPrefix)\(l).\(suffix)" }

    /// Layer tensor `t`'s name after "<prefix><index>.".
    public func suffix(_ t: LayerTensor) -> String { suffixes[t.rawValue] }

    public func name(_ t: ModelTensor) -> String {
        switch t {
        case .embedding: embedding
        case .finalNorm: finalNorm
        case .output: output
        case .layer(let l, let lt): layer(l, suffix(lt))
        }
    }

    /// The tensor `name` stands for in this naming; nil for any other name (including a layer index written
    /// other than as `name(_:)` writes it, e.g. with a leading zero, so that names and tensors correspond one to one).
    public func tensor(named name: String) -> ModelTensor? {
        switch name {
        case embedding: return .embedding
        case finalNorm: return .finalNorm
        case output: return .output
        default: break
        }
        guard name.hasPrefix(layerPrefix) else { return nil }
        let rest = name.dropFirst(layerPrefix.count)
        guard let dot = rest.firstIndex(of: "."), let l = Int(rest[..<dot]), l >= 0, String(l) == rest[..<dot],
              let t = layerTensorsBySuffix[String(rest[rest.index(after: dot)...])] else { return nil }
        return .layer(l, t)
    }

    /// `name` in `other`'s naming (HF ↔ GGUF); nil when it names none of the model's tensors.
    public func rename(_ name: String, to other: TensorNaming) -> String? { tensor(named: name).map(other.name) }
}
