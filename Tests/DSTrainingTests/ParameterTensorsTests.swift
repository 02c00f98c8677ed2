import DSModel
@testable import DSTraining
import Testing

/// The slab's named views (llm.c's ParameterTensors): built once, they are how the training step reaches every
/// tensor, so they must tile the slab exactly as the checkpoint names do.
@Suite struct ParameterTensorsTests {
    // GQA, and every dimension distinct, so a view with a wrong shape shows in its size.
    static let config = ModelConfig(vocabularySize: 40, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4,
                                    kvHeadCount: 2, headDim: 12, maxPositions: 16)

    /// Each view's range, in slab order, with the shape the config gives it (spelled out here, not taken from DSModel).
    static func expected(_ slab: ParameterSlab) -> [(ModelTensor, Range<Int>, [Int])] {
        let c = config, (d, f, v, q, kv) = (c.hiddenSize, c.intermediateSize, c.vocabularySize, c.queryDim, c.kvDim)
        var list: [(ModelTensor, Range<Int>, [Int])] = [(.embedding, slab.layout.embedding, [v, d])]
        for (l, r) in slab.layout.layers.enumerated() {
            list += [(.layer(l, .attentionNorm), r.attentionNorm, [d]), (.layer(l, .wq), r.wq, [q, d]), (.layer(l, .wk), r.wk, [kv, d]),
                     (.layer(l, .wv), r.wv, [kv, d]), (.layer(l, .wo), r.wo, [d, q]), (.layer(l, .ffnNorm), r.ffnNorm, [d]),
                     (.layer(l, .wGate), r.wGate, [f, d]), (.layer(l, .wUp), r.wUp, [f, d]), (.layer(l, .wDown), r.wDown, [d, f])]
        }
        return list + [(.finalNorm, slab.layout.finalNorm, [d]), (.output, slab.layout.output, [v, d])]
    }

    @Test func viewsCoverTheSlabOnceInOrderWithTheConfigsShapes() {
        let slab = ParameterSlab(config: Self.config)
        let views = Self.expected(slab)
        #expect(slab.layout.layers.count == 2 && views.count == 3 + 2 * 9)
        var next = 0
        for (i, (id, range, shape)) in views.enumerated() {
            #expect(range.lowerBound == next, "\(id) starts at \(range.lowerBound), not \(next)")
            #expect(range.count == shape.reduce(1, *), "\(id): \(range.count) elements for shape \(shape)")
            next = range.upperBound
            // The same tensor under its checkpoint name, and the typed pointers at its offset in both slabs.
            let t = slab.tensors[i]
            #expect(t.id == id && t.shape == shape && t.offset == range.lowerBound, "\(t.name)")
            #expect(slab.layout[id] == range)
            #expect(slab.parameters[id] == slab.values + range.lowerBound && slab.gradients[id] == slab.grads + range.lowerBound)
            #expect(slab.value(t.name) == slab.parameters[id] && slab.grad(t.name) == slab.gradients[id])
        }
        #expect(next == slab.count && slab.tensors.count == views.count)
        for (l, layer) in slab.layout.layers.enumerated() {
            #expect(layer.span == layer.attentionNorm.lowerBound..<layer.wDown.upperBound)
            #expect(slab.parameters.layers[l].wq == slab.value("model.layers.\(l).self_attn.q_proj.weight"))
            #expect(slab.gradients.layers[l].wDown == slab.grad("model.layers.\(l).mlp.down_proj.weight"))
        }
        #expect(slab.parameters.embedding == slab.value("model.embed_tokens.weight"))
        #expect(slab.parameters.finalNorm == slab.value("model.norm.weight") && slab.parameters.output == slab.value("lm_head.weight"))
    }

    /// The backward hands data parallelism each gradient range once, as it finishes it: head + final norm, the
    /// layers from last to first, then the embedding.
    @Test func backwardReportsEveryGradientRangeOnce() {
        let slab = ParameterSlab(config: Self.config)
        slab.initialize(seed: 3)
        let model = TrainingModel(slab: slab, batch: 2, seq: 4, threads: 1)
        var ranges: [Range<Int>] = []
        let inputs: [Int32] = [1, 5, 9, 2, 7, 3, 30, 11], targets: [Int32] = [5, 9, 2, 7, 3, 30, 11, 4]
        model.forwardBackward(inputs: inputs, targets: targets) { ranges.append($0) }
        let l = slab.layout
        #expect(ranges == [l.finalNorm.lowerBound..<slab.count, l.layers[1].span, l.layers[0].span, l.embedding])
        #expect(ranges.reduce(0) { $0 + $1.count } == slab.count)
    }
}
