import DSModel
import DSTensor
import Testing
@testable import DSTraining

/// Activation checkpointing recomputes each layer's forward with the same arithmetic, so the loss and every gradient
/// are bit-identical to the run that kept all activations — with packed documents, GQA and both precisions.
@Suite struct RecomputeTests {
    @Test(arguments: TrainingPrecision.allCases)
    func gradientsAreIdenticalWithRecompute(_ precision: TrainingPrecision) {
        let config = ModelConfig(vocabularySize: 96, hiddenSize: 48, intermediateSize: 80, layerCount: 3, headCount: 4, kvHeadCount: 2,
                                 maxPositions: 64)
        let (batch, seq) = (2, 40)
        var rng = SplitMix64(seed: 5)
        let inputs = (0..<(batch * seq)).map { _ in Int32(rng.next() % 96) }
        let targets = (0..<(batch * seq)).map { i in i % 11 == 0 ? -100 : Int32(rng.next() % 96) }
        // The second sequence packs two documents (positions restart at row 17).
        let positions = (0..<(batch * seq)).map { r in Int32(r < seq ? r : (r - seq < 17 ? r - seq : r - seq - 17)) }
        func run(recompute: Bool) -> (Double, [Float]) {
            let slab = ParameterSlab(config: config)
            slab.initialize(seed: 3, std: 0.2)
            let model = TrainingModel(slab: slab, batch: batch, seq: seq, threads: 2, precision: precision, recompute: recompute)
            let loss = model.forwardBackward(inputs: inputs, targets: targets, positions: positions)
            return (loss, Array(UnsafeBufferPointer(start: slab.grads, count: slab.count)))
        }
        let (plainLoss, plain) = run(recompute: false)
        let (loss, grads) = run(recompute: true)
        #expect(loss == plainLoss)
        #expect(grads == plain, "gradients differ at \(zip(grads, plain).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        #expect(plain.contains { $0 != 0 })
    }
}
