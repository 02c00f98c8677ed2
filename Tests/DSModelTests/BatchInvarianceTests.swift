@testable import DSModel
import DSTensor
import Foundation
import TestSupport
import Testing

/// A token's numbers never depend on how its rows were grouped (issue 21): one query row's attention equals the
/// blocked kernel's row bit for bit, and on packed weights a prompt run in any chunking, token by token, or beside
/// another sequence's rows gives the same logits bits at every position.
@Suite struct BatchInvarianceTests {
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-invariance-\(getpid())").path
        try! RandomModel.write(RandomModel.tinyConfig(vocabularySize: 512, maxPositions: 256), to: dir, seed: 11, scale: 0.3)
        let gguf = dir + "/model-q8_0.gguf"
        try! ModelExport.writeGGUF(try! ModelWeights.load(path: dir), type: .q8_0, to: gguf, extraMetadata: [])
        return try! ModelWeights.load(path: gguf)
    }()

    /// attendRow (decode, server rows) against attendCausal (prefill blocks) for every row of blocks starting at
    /// several slots, over 150 cached keys (three key tiles), f32 and f16 caches, two query heads per KV head.
    @Test(arguments: [KVCache.Precision.f32, .f16])
    func rowKernelEqualsBlockedKernel(_ precision: KVCache.Precision) async {
        await KernelLevelLock.hold {
            let t = Transformer(weights: Self.weights, maxSequence: 256, cache: precision)
            let c = t.config, n = 150
            var rng = SplitMix64(seed: 3)
            func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(rng.next() >> 40) * 0x1p-22 - 2 } }
            for p in 0..<n {
                let k = random(c.kvDim), v = random(c.kvDim)
                t.cache.store(layer: 0, position: p, keys: k, values: v)
            }
            let q = random(n * c.queryDim)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: attentionKeyTile)
            defer { scratch.deallocate() }
            var row = [Float](repeating: 0, count: c.headDim)
            var mismatches = 0, checked = 0
            for (first, count) in [(0, 150), (0, 1), (37, 60), (64, 1), (100, 50), (149, 1)] {
                var blocked = [Float](repeating: .nan, count: count * c.queryDim)
                q.withUnsafeBufferPointer { qb in
                    t.attendCausal(queries: qb.baseAddress! + first * c.queryDim, count: count, first: first, layer: 0, into: &blocked)
                }
                for r in 0..<count {
                    for h in 0..<c.headCount {
                        q.withUnsafeBufferPointer { qb in
                            t.attendRow(qb.baseAddress! + (first + r) * c.queryDim + h * c.headDim, layer: 0, last: first + r,
                                        kvOffset: (h / (c.headCount / c.kvHeadCount)) * c.headDim, scores: scratch, out: &row)
                        }
                        let want = blocked[(r * c.queryDim + h * c.headDim)...].prefix(c.headDim)
                        if zip(row, want).contains(where: { $0.bitPattern != $1.bitPattern }) { mismatches += 1 }
                        checked += 1
                    }
                }
            }
            #expect(checked == 263 * 4)
            #expect(mismatches == 0, "\(mismatches) of \(checked) (row, head) outputs differ from the blocked kernel's")
        }
    }

    /// The same 150-token prompt token by token, in chunks of 1, 7 and 64, and as rows beside another sequence's
    /// prompt and decode rows: identical logits bits at every position, and after three more decode steps.
    @Test func logitsDoNotDependOnChunkingOrCompany() async {
        await KernelLevelLock.hold {
            let ids: [Int32] = (0..<150).map { Int32(($0 * 37 + 11) % 500) }
            func bits(_ l: UnsafeBufferPointer<Float>) -> [UInt32] { l.map(\.bitPattern) }
            func continued(_ t: Transformer) -> [[UInt32]] {
                (0..<3).map { i in bits(t.forward(token: Int32(100 + i), position: t.length)) }
            }
            let stepwise = Transformer(weights: Self.weights, maxSequence: 256)
            let reference = ids.enumerated().map { bits(stepwise.forward(token: $1, position: $0)) }
            let referenceTail = continued(stepwise)
            for chunk in [1, 7, 64] {
                let t = Transformer(weights: Self.weights, maxSequence: 256)
                var got = [[UInt32]](repeating: [], count: ids.count)
                t.prefill(ids, chunk: chunk) { p, l in got[p] = bits(l) }
                #expect(got == reference, "chunk \(chunk)")
                #expect(continued(t) == referenceTail, "decode after chunk \(chunk)")
            }
            // Beside company: another sequence prefills and then decodes while ours is fed in chunks of 9.
            let ours = Transformer(weights: Self.weights, maxSequence: 256), other = Transformer(weights: Self.weights, maxSequence: 256)
            other.prefill([1, 2, 3, 4, 5])
            var got: [[UInt32]] = []
            var fed = 0
            while fed < ids.count {
                let take = min(9, ids.count - fed)
                var batch = ForwardBatch()
                batch.add(Int32(200 + fed % 50), sequence: 1, slot: other.length, logits: true)
                for j in 0..<take { batch.add(ids[fed + j], sequence: 0, slot: fed + j, logits: true) }
                Transformer.run(batch, sequences: [ours, other]) { r, l in if r > 0 { got.append(bits(l)) } }
                fed += take
            }
            #expect(got == reference, "beside another sequence")
            #expect(continued(ours) == referenceTail)
        }
    }
}
