@testable import DSModel
import Testing

/// TensorNaming, the one table of HF and GGUF tensor names, and ModelTensor's order and shapes.
@Suite struct TensorNamingTests {
    static let config = ModelConfig(vocabularySize: 40, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4,
                                    kvHeadCount: 2, maxPositions: 16)

    /// Every tensor of a 2-layer model, HF name → GGUF name and back, as transformers and llama.cpp spell them.
    @Test func hfAndGGUFNamesRoundTripForEveryTensor() {
        let (hf, gguf) = (TensorNaming.hf, TensorNaming.gguf)
        let tensors = ModelTensor.all(layerCount: Self.config.layerCount)
        #expect(tensors.count == 3 + 2 * 9 && Set(tensors).count == tensors.count)
        for t in tensors {
            let (h, g) = (hf.name(t), gguf.name(t))
            #expect(hf.tensor(named: h) == t && gguf.tensor(named: g) == t, "\(h) / \(g)")
            #expect(hf.rename(h, to: gguf) == g && gguf.rename(g, to: hf) == h)
            #expect(hf.tensor(named: g) == nil && gguf.tensor(named: h) == nil, "\(h) / \(g) belong to one naming each")
        }
        #expect(Set(tensors.map(hf.name)).count == tensors.count && Set(tensors.map(gguf.name)).count == tensors.count)
        let pairs = [
            ("model.embed_tokens.weight", "token_embd.weight"), ("model.norm.weight", "output_norm.weight"),
            ("lm_head.weight", "output.weight"),
            ("model.layers.1.input_layernorm.weight", "blk.1.attn_norm.weight"),
            ("model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight"),
            ("model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight"),
            ("model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight"),
            ("model.layers.1.self_attn.o_proj.weight", "blk.1.attn_output.weight"),
            ("model.layers.0.post_attention_layernorm.weight", "blk.0.ffn_norm.weight"),
            ("model.layers.0.mlp.gate_proj.weight", "blk.0.ffn_gate.weight"),
            ("model.layers.0.mlp.up_proj.weight", "blk.0.ffn_up.weight"),
            ("model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight"),
        ]
        for (h, g) in pairs { #expect(hf.rename(h, to: gguf) == g && gguf.rename(g, to: hf) == h, "\(h) ↔ \(g)") }
        for other in ["model.layers.01.self_attn.q_proj.weight", "model.layers.-1.self_attn.q_proj.weight", "blk.x.attn_q.weight",
                      "model.layers.0.self_attn.rotary_emb.inv_freq", "model.layers.0.", "blk.0", "rope_freqs.weight", ""] {
            #expect(hf.tensor(named: other) == nil && gguf.tensor(named: other) == nil, "\(other)")
        }
    }

    /// state_dict order (the slab's, checkpoints' and exports'), and shapes in PyTorch's [out, in] order.
    @Test func orderAndShapes() {
        let c = Self.config
        let names = ModelTensor.all(layerCount: 1, output: false).map(TensorNaming.hf.name)
        #expect(names == ["model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight",
                          "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                          "model.layers.0.self_attn.o_proj.weight", "model.layers.0.post_attention_layernorm.weight",
                          "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight",
                          "model.layers.0.mlp.down_proj.weight", "model.norm.weight"])
        #expect(ModelTensor.all(layerCount: 2).last == .output)
        let shapes: [(ModelTensor, [Int])] = [
            (.embedding, [40, 32]), (.output, [40, 32]), (.finalNorm, [32]), (.layer(1, .attentionNorm), [32]),
            (.layer(1, .ffnNorm), [32]), (.layer(1, .wq), [32, 32]), (.layer(1, .wk), [16, 32]), (.layer(1, .wv), [16, 32]),
            (.layer(1, .wo), [32, 32]), (.layer(1, .wGate), [48, 32]), (.layer(1, .wUp), [48, 32]), (.layer(1, .wDown), [32, 48]),
        ]
        for (t, s) in shapes {
            #expect(t.shape(c) == s, "\(t)")
            #expect(t.isNorm == (s.count == 1), "\(t)")
        }
        #expect(ModelTensor.all(layerCount: 2).filter(\.isRoPERotated) == [.layer(0, .wq), .layer(0, .wk), .layer(1, .wq), .layer(1, .wk)])
    }
}
