import DSModel
import DSTensor
import Foundation

/// All trainable parameters in one f32 slab and their gradients in another (llm.c's layout): the optimizer and
/// gradient clipping are flat loops, and a tensor is an offset. Names are transformers' (LlamaForCausalLM).
public final class ParameterSlab: @unchecked Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        /// 2-D matrices get weight decay; RMSNorm gains do not.
        public var isMatrix: Bool { shape.count == 2 }
    }

    public let config: ModelConfig
    public let tensors: [Tensor]
    public let count: Int
    public let values: UnsafeMutablePointer<Float>
    public let grads: UnsafeMutablePointer<Float>
    private let index: [String: Int]

    public init(config c: ModelConfig) {
        config = c
        var list: [Tensor] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) {
            list.append(Tensor(name: name, shape: shape, offset: offset))
            offset += shape.reduce(1, *)
        }
        add("model.embed_tokens.weight", [c.vocabularySize, c.hiddenSize])
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            add(p + "input_layernorm.weight", [c.hiddenSize])
            add(p + "self_attn.q_proj.weight", [c.queryDim, c.hiddenSize])
            add(p + "self_attn.k_proj.weight", [c.kvDim, c.hiddenSize])
            add(p + "self_attn.v_proj.weight", [c.kvDim, c.hiddenSize])
            add(p + "self_attn.o_proj.weight", [c.hiddenSize, c.queryDim])
            add(p + "post_attention_layernorm.weight", [c.hiddenSize])
            add(p + "mlp.gate_proj.weight", [c.intermediateSize, c.hiddenSize])
            add(p + "mlp.up_proj.weight", [c.intermediateSize, c.hiddenSize])
            add(p + "mlp.down_proj.weight", [c.hiddenSize, c.intermediateSize])
        }
        add("model.norm.weight", [c.hiddenSize])
        add("lm_head.weight", [c.vocabularySize, c.hiddenSize])
        tensors = list
        count = offset
        values = .allocate(capacity: offset)
        values.initialize(repeating: 0, count: offset)
        grads = .allocate(capacity: offset)
        grads.initialize(repeating: 0, count: offset)
        index = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1.name, $0) })
    }

    deinit {
        values.deallocate()
        grads.deallocate()
    }

    public func tensor(_ name: String) -> Tensor? { index[name].map { tensors[$0] } }
    public func value(_ name: String) -> UnsafeMutablePointer<Float> { values + tensors[index[name]!].offset }
    public func grad(_ name: String) -> UnsafeMutablePointer<Float> { grads + tensors[index[name]!].offset }
    public func zeroGrads() { grads.update(repeating: 0, count: count) }

    /// The paper's init: matrices normal(0, std), RMSNorm gains 1; Box–Muller over a seeded generator.
    public func initialize(seed: UInt64, std: Float = 0.006) {
        var bits = SplitMix64(seed: seed)
        func next() -> Double { (Double(bits.next() >> 11) + 0.5) * 0x1p-53 }  // (0, 1), never 0 for the log
        for t in tensors {
            let p = values + t.offset
            if t.isMatrix {
                var i = 0
                while i < t.count {
                    let r = (-2 * log(next())).squareRoot(), a = 2 * Double.pi * next()
                    p[i] = Float(r * cos(a)) * std
                    if i + 1 < t.count { p[i + 1] = Float(r * sin(a)) * std }
                    i += 2
                }
            } else {
                p.update(repeating: 1, count: t.count)
            }
        }
    }
}
