import DSModel
import DSTensor
import Foundation

/// All trainable parameters in one f32 slab and their gradients in another (llm.c's layout): the optimizer and
/// gradient clipping are flat loops, and a tensor is an offset. Tensors lie in transformers' state_dict order
/// (`ModelTensor.all`) under transformers' names (LlamaForCausalLM), which checkpoints use; code reaches them
/// through `parameters` / `gradients` (typed pointers built once), never by name.
public final class ParameterSlab: @unchecked Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let id: ModelTensor
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        /// 2-D matrices get weight decay; RMSNorm gains do not.
        public var isMatrix: Bool { shape.count == 2 }
    }

    public let config: ModelConfig
    /// Every tensor with its checkpoint name, in slab order (file I/O, flat loops over tensors).
    public let tensors: [Tensor]
    public let count: Int
    public let values: UnsafeMutablePointer<Float>
    public let grads: UnsafeMutablePointer<Float>
    /// Each tensor's element range in the slab (the same in `values`, `grads` and the AdamW moments).
    public let layout: ParameterTensors<Range<Int>>
    /// Pointers to each tensor in `values` and in `grads`.
    public let parameters: ParameterTensors<UnsafeMutablePointer<Float>>
    public let gradients: ParameterTensors<UnsafeMutablePointer<Float>>
    private let index: [String: Int]

    public init(config c: ModelConfig) {
        config = c
        var list: [Tensor] = []
        var offset = 0
        for t in ModelTensor.all(layerCount: c.layerCount) {
            list.append(Tensor(name: TensorNaming.hf.name(t), id: t, shape: t.shape(c), offset: offset))
            offset += list.last!.count
        }
        tensors = list
        count = offset
        let values = UnsafeMutablePointer<Float>.allocate(capacity: offset), grads = UnsafeMutablePointer<Float>.allocate(capacity: offset)
        values.initialize(repeating: 0, count: offset)
        grads.initialize(repeating: 0, count: offset)
        (self.values, self.grads) = (values, grads)
        index = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1.name, $0) })
        let ranges = Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0.offset..<($0.offset + $0.count)) })
        let layout = ParameterTensors(layerCount: c.layerCount) { ranges[$0]! }
        self.layout = layout
        parameters = layout.map { values + $0.lowerBound }
        gradients = layout.map { grads + $0.lowerBound }
    }

    deinit {
        values.deallocate()
        grads.deallocate()
    }

    // By checkpoint name, for tests and tools that hold names; the training step uses `parameters` / `gradients`.
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
