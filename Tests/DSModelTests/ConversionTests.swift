@testable import DSModel
import DSFormats
import DSTensor
import Foundation
import Testing

@Suite struct ConversionTests {
    static let model = TransformersGoldenTests.directory.appendingPathComponent("gqa-odd-ropeparams").path

    func tmp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-conv-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func logits(_ w: ModelWeights, _ ids: [Int32]) -> [[Float]] {
        let t = Transformer(weights: w, cache: .f32)  // GGUFs default to an f16 cache; this compares layouts exactly
        return ids.enumerated().map { Array(t.forward(token: $1, position: $0)) }
    }

    /// save_pretrained's split: in order, a new shard when the next tensor would overflow a non-empty one; a tensor
    /// larger than the limit gets a shard of its own.
    @Test func shardRangesSplitAsSavePretrained() {
        #expect(ModelExport.shardRanges([4, 4, 4], maxBytes: 100) == [0..<3])
        #expect(ModelExport.shardRanges([4, 4, 4], maxBytes: 8) == [0..<2, 2..<3])
        #expect(ModelExport.shardRanges([3, 20, 3, 3], maxBytes: 8) == [0..<1, 1..<2, 2..<4])
        #expect(ModelExport.shardRanges([20], maxBytes: 8) == [0..<1])
        #expect(ModelExport.shardRanges([], maxBytes: 8) == [0..<0])
    }

    @Test func rowPermutationsAreInverse() {
        for hd in [2, 16, 64, 128] {
            for r in 0..<(3 * hd) {
                #expect(ModelExport.hfRow(forGGUFRow: ModelExport.ggufRow(forHFRow: r, headDim: hd), headDim: hd) == r)
            }
        }
        // head 0, hd 4: GGUF rows 0,1,2,3 hold HF rows 0,2,1,3
        #expect((0..<4).map { ModelExport.hfRow(forGGUFRow: $0, headDim: 4) } == [0, 2, 1, 3])
    }

    /// safetensors → GGUF (permuted q/k, interleaved RoPE) → safetensors: the same logits all the way.
    @Test func roundTripThroughGGUFKeepsLogits() throws {
        let ids: [Int32] = [3, 17, 250, 9, 44, 101, 7]
        let source = try ModelWeights.load(path: Self.model)
        let reference = logits(source, ids)
        let ggufPath = tmp("rt.gguf")
        try ModelExport.writeGGUF(source, type: .f32, to: ggufPath, extraMetadata: [])
        let gguf = try ModelWeights.load(path: ggufPath)
        #expect(gguf.ropeInterleaved && gguf.config == source.config)
        let dir = tmp("rt-dir")
        try ModelExport.writeSafetensors(gguf, type: .f32, directory: dir)
        let back = try ModelWeights.load(path: dir)
        for other in [gguf, back] {
            let l = logits(other, ids)
            let worst = zip(l.joined(), reference.joined()).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "max logit difference \(worst)")
        }
    }

    /// Quantized exports load and stay close to the f32 model (mha-f32 rows of 64 are whole 32-blocks).
    @Test func quantizedExportsStayClose() throws {
        let path = TransformersGoldenTests.directory.appendingPathComponent("mha-f32").path
        let source = try ModelWeights.load(path: path)
        let ids: [Int32] = [5, 99, 200, 31, 64, 7, 150, 12]
        let reference = Transformer(weights: source).meanNLL(ids)
        for (type, tolerance) in [(GGMLType.f16, 1e-3), (.bf16, 1e-2), (.q8_0, 1e-2), (.q5_1, 3e-2), (.q4_0, 8e-2)] {
            let out = tmp("q-\(type).gguf")
            try ModelExport.writeGGUF(source, type: type, to: out, extraMetadata: [])
            let q = try ModelWeights.load(path: out)
            #expect(q.layers[0].wq.type == type)
            #expect(q.layers[0].wDown.type == (type.blockSize == 1 ? type : .f16))  // 176 columns: not whole 32-blocks
            let nll = Transformer(weights: q).meanNLL(ids)
            #expect(abs(nll - reference) / reference < tolerance, "\(type): \(nll) vs \(reference)")
        }
    }

    @Test func shapeMismatchesNameTheTensor() throws {
        let dir = tmp("bad-shape")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let src = URL(fileURLWithPath: Self.model)
        try? FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        try FileManager.default.copyItem(at: src.appendingPathComponent("model.safetensors"), to: URL(fileURLWithPath: dir + "/model.safetensors"))
        var config = try String(contentsOf: src.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"intermediate_size\": 136", with: "\"intermediate_size\": 128")
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect { try ModelWeights.load(path: dir) } throws: { e in
            let f = e as? FormatError
            return f?.field == "model.layers.0.mlp.gate_proj.weight" && f!.message.contains("[128, 60]")
        }
    }
}

@Suite struct PrefillTests {
    /// Batched prefill gives the same logits as one token at a time, across chunk boundaries.
    @Test(arguments: ["gqa-odd-ropeparams", "gqa-bf16"])
    func batchedEqualsIncremental(_ name: String) throws {
        let w = try ModelWeights.load(path: TransformersGoldenTests.directory.appendingPathComponent(name).path)
        let ids: [Int32] = (0..<23).map { Int32(($0 * 37 + 11) % w.config.vocabularySize) }
        let a = Transformer(weights: w)
        let incremental = ids.enumerated().map { Array(a.forward(token: $1, position: $0)) }
        let b = Transformer(weights: w)
        var batched = [[Float]](repeating: [], count: ids.count)
        b.prefill(ids, chunk: 10) { t, l in batched[t] = Array(l) }
        for t in 0..<ids.count {
            let worst = zip(batched[t], incremental[t]).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "\(name) position \(t): \(worst)")
        }
        #expect(b.length == ids.count)
        // decoding continues from the batched cache as from the incremental one (sums differ only in order)
        let next = zip(Array(b.forward(token: 5, position: ids.count)), Array(a.forward(token: 5, position: ids.count)))
        #expect(next.map { abs($0 - $1) }.max()! < 1e-5)
    }
}

@Suite struct KVCacheTests {
    /// f16/bf16 caches halve the memory and stay close to the f32 cache.
    @Test(arguments: [KVCache.Precision.f16, .bf16])
    func halfPrecisionCachesStayClose(_ precision: KVCache.Precision) throws {
        let w = try ModelWeights.load(path: TransformersGoldenTests.directory.appendingPathComponent("gqa-bf16").path)
        let ids: [Int32] = (0..<20).map { Int32(($0 * 53 + 7) % w.config.vocabularySize) }
        let full = Transformer(weights: w), half = Transformer(weights: w, cache: precision)
        #expect(half.cache.byteCount * 2 == full.cache.byteCount)
        var worst: Float = 0
        for (t, id) in ids.enumerated() {
            let a = Array(full.forward(token: id, position: t)), b = Array(half.forward(token: id, position: t))
            worst = max(worst, zip(a, b).map { abs($0 - $1) }.max()! / a.map { abs($0) }.max()!)
        }
        #expect(worst < (precision == .f16 ? 2e-3 : 2e-2), "\(precision): \(worst)")
        #expect(abs(Transformer(weights: w, cache: precision).meanNLL(ids) - full.meanNLL(ids)) < 1e-2)
    }
}

@Suite struct BatchDecodeTests {
    /// Three sequences at different positions decoded together give each one's own logits.
    @Test func batchedStepsEqualSeparateSteps() throws {
        let w = try ModelWeights.load(path: TransformersGoldenTests.directory.appendingPathComponent("gqa-odd-ropeparams").path)
        let prompts: [[Int32]] = [[1, 2, 3], [40, 50, 60, 70, 80, 90], [7]]
        let alone = prompts.map { p -> Transformer in let t = Transformer(weights: w); t.prefill(p); return t }
        let together = prompts.map { p -> Transformer in let t = Transformer(weights: w, cache: .f32); t.prefill(p); return t }
        var next: [Int32] = [11, 22, 33]
        for _ in 0..<4 {
            let batched = Transformer.decodeBatch(together, tokens: next).map { Array($0) }
            for (i, t) in alone.enumerated() {
                let single = Array(t.forward(token: next[i], position: t.length))
                #expect(zip(single, batched[i]).map { abs($0 - $1) }.max()! < 1e-5)
            }
            next = batched.map { Int32(argmax($0.withUnsafeBufferPointer { $0 })) }
        }
        #expect(together.map(\.length) == [7, 10, 5])
    }
}

@Suite struct MixedBatchTests {
    /// Prompt chunks of some sequences and single decode tokens of others in one pass equal running each alone.
    @Test func mixedPrefillAndDecodeEqualSeparatePasses() throws {
        let w = try ModelWeights.load(path: TransformersGoldenTests.directory.appendingPathComponent("gqa-odd-ropeparams").path)
        let starts: [[Int32]] = [[1, 2, 3], [], [7, 8]]
        let feeds: [[Int32]] = [[11], [40, 50, 60, 70], [9, 10, 12]]   // decode one, prefill from scratch, prefill more
        let together = starts.map { p -> Transformer in let t = Transformer(weights: w); if !p.isEmpty { t.prefill(p) }; return t }
        let mixed = Transformer.forwardMixed(together, tokens: feeds, buffersFrom: Transformer(weights: w)).map { Array($0) }
        for i in 0..<3 {
            let t = Transformer(weights: w)
            let single = Array(t.prefill(starts[i] + feeds[i]))
            #expect(zip(single, mixed[i]).map { abs($0 - $1) }.max()! < 1e-4 * single.map { abs($0) }.max()!, "sequence \(i)")
            #expect(together[i].length == starts[i].count + feeds[i].count)
        }
    }

    /// The batch descriptor directly: rows of two sequences interleaved (not grouped by sequence), logits wanted for
    /// some rows only, equal running each sequence alone.
    @Test func interleavedRowsOfTwoSequencesEqualSeparateRuns() throws {
        let w = try ModelWeights.load(path: TransformersGoldenTests.directory.appendingPathComponent("gqa-odd-ropeparams").path)
        let a: [Int32] = [5, 6, 7, 8], b: [Int32] = [90, 91, 92]
        let sa = Transformer(weights: w), sb = Transformer(weights: w)
        var batch = ForwardBatch()
        for j in 0..<4 {
            batch.add(a[j], sequence: 0, slot: j, logits: j >= 2)
            if j < 3 { batch.add(b[j], sequence: 1, slot: j, logits: true) }
        }
        var got: [Int: [Float]] = [:]
        Transformer.run(batch, sequences: [sa, sb]) { row, logits in got[row] = Array(logits) }
        #expect(Set(got.keys) == [1, 3, 4, 5, 6], "rows wanting logits: \(got.keys.sorted())")
        #expect(sa.length == 4 && sb.length == 3)
        var expected: [Int: [Float]] = [:]
        let ra = Transformer(weights: w), rb = Transformer(weights: w)
        ra.prefill(a) { t, l in if t == 2 { expected[4] = Array(l) } else if t == 3 { expected[6] = Array(l) } }
        rb.prefill(b) { t, l in expected[[1, 3, 5][t]] = Array(l) }
        for (row, want) in expected {
            let g = try #require(got[row])
            #expect(zip(g, want).map { abs($0 - $1) }.max()! < 1e-4 * want.map { abs($0) }.max()!, "row \(row)")
        }
    }
}
