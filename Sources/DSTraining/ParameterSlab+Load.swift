import DSFormats
import DSModel
import DSTensor

extension ParameterSlab {
    /// Copies a loaded model (HF safetensors or GGUF, any stored type) into the slab after checking every shape.
    /// GGUF stores q/k rows in llama.cpp's interleaved RoPE order; training uses transformers' rotate-half order.
    public func load(_ w: ModelWeights) throws(FormatError) {
        let (a, b) = (w.config, config)
        let have = [a.vocabularySize, a.hiddenSize, a.intermediateSize, a.layerCount, a.headCount, a.kvHeadCount]
        let want = [b.vocabularySize, b.hiddenSize, b.intermediateSize, b.layerCount, b.headCount, b.kvHeadCount]
        guard have == want else {
            throw FormatError(file: w.source, message: "shape (vocab, hidden, ffn, layers, heads, kv heads) \(have) does not match the training config's \(want)")
        }
        let hd = w.config.headDim
        func put(_ name: String, _ m: WeightMatrix, qk: Bool = false) {
            for r in 0..<m.rows { m.row(qk && w.ropeInterleaved ? ModelExport.ggufRow(forHFRow: r, headDim: hd) : r, into: value(name) + r * m.cols) }
        }
        put("model.embed_tokens.weight", w.embedding)
        put("lm_head.weight", w.output)
        value("model.norm.weight").update(from: w.finalNorm, count: w.finalNorm.count)
        for (l, layer) in w.layers.enumerated() {
            let p = "model.layers.\(l)."
            value(p + "input_layernorm.weight").update(from: layer.attentionNorm, count: layer.attentionNorm.count)
            value(p + "post_attention_layernorm.weight").update(from: layer.ffnNorm, count: layer.ffnNorm.count)
            put(p + "self_attn.q_proj.weight", layer.wq, qk: true)
            put(p + "self_attn.k_proj.weight", layer.wk, qk: true)
            put(p + "self_attn.v_proj.weight", layer.wv)
            put(p + "self_attn.o_proj.weight", layer.wo)
            put(p + "mlp.gate_proj.weight", layer.wGate)
            put(p + "mlp.up_proj.weight", layer.wUp)
            put(p + "mlp.down_proj.weight", layer.wDown)
        }
    }

    /// A slab holding the model at `path` (HF directory or GGUF).
    public static func loading(_ path: String) throws(FormatError) -> ParameterSlab {
        let w = try ModelWeights.load(path: path, numerics: .reference)
        let slab = ParameterSlab(config: w.config)
        try slab.load(w)
        return slab
    }
}
