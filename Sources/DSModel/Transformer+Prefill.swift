import DSTensor
import Foundation

extension Transformer {
    /// Tokens per prefill pass. Larger chunks read each weight matrix once for more tokens (the integer GEMM tiles
    /// and the f32 GEMM both gain); the forward buffers grow linearly with it (≈ 4·(3·hidden + 2·ffn) bytes per
    /// token: 220 KB at 7B, 112 MB for 512). Each Transformer's `prefillChunk` starts here (`--prefill-chunk`).
    public static let defaultPrefillChunk = 512

    /// Feeds tokens at positions length..<length+count, `chunk` (default: `prefillChunk`) rows per forward pass.
    /// Returns the last token's logits; `eachLogits` (for scoring) also receives every position's logits (absolute slot, logits).
    @discardableResult
    public func prefill(_ tokens: [Int32], chunk: Int? = nil,
                        eachLogits: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) -> UnsafeBufferPointer<Float> {
        let vocab = config.vocabularySize, chunk = chunk ?? prefillChunk
        var start = 0
        while start < tokens.count {
            let n = min(max(1, chunk), tokens.count - start)
            precondition(length + n <= maxSequence, "prefill past the context (\(length + n) > \(maxSequence))")
            var batch = ForwardBatch()
            for j in 0..<n { batch.add(tokens[start + j], sequence: 0, slot: length + j, logits: eachLogits != nil || start + j == tokens.count - 1) }
            let first = length, lastRow = start + n == tokens.count ? n - 1 : -1
            if let eachLogits {
                Transformer.run(batch, sequences: [self]) { [self] r, l in
                    eachLogits(first + r, l)
                    if r == lastRow { logits.update(from: l.baseAddress!, count: vocab) }
                }
            } else {
                Transformer.run(batch, sequences: [self])
            }
            start += n
        }
        return UnsafeBufferPointer(start: logits, count: vocab)
    }

    /// Where a packed token sits: its RoPE position and what it attends to — the cache slots `shared` (a context
    /// prefilled earlier or packed before it) and its own segment's slots from `segmentStart` up to itself.
    public struct PackedToken: Sendable {
        public var position: Int
        public var shared: Range<Int>
        public var segmentStart: Int
    }

    /// Several sequences in one pass (batched scoring): `segments` are stored in consecutive cache slots after
    /// what the cache holds; token j of a segment gets RoPE position `position + j` and attends to the slots
    /// `shared` plus its own segment so far — so choices can share a question's context, and independent
    /// questions can share a pass, each seeing exactly what it would see alone. `wantLogits(segment, j)` picks
    /// the rows whose logits `eachLogits(segment, j, logits)` receives. The cache keeps the packed slots
    /// (length grows by the total); callers `truncate` or `reset` after.
    public func prefillPacked(_ segments: [(tokens: [Int32], position: Int, shared: Range<Int>)],
                              chunk: Int? = nil,
                              wantLogits: @escaping (Int, Int) -> Bool,
                              eachLogits: @escaping (Int, Int, UnsafeBufferPointer<Float>) -> Void) {
        var rows: [(token: Int32, slot: Int, packed: PackedToken, owner: (Int, Int))] = []
        for (k, seg) in segments.enumerated() {
            let start = length + rows.count
            precondition(seg.shared.upperBound <= start, "a segment may only share slots before it")
            for (j, id) in seg.tokens.enumerated() {
                rows.append((id, start + j, PackedToken(position: seg.position + j, shared: seg.shared, segmentStart: start), (k, j)))
            }
        }
        let chunk = chunk ?? prefillChunk
        var start = 0
        while start < rows.count {
            let n = min(max(1, chunk), rows.count - start)
            var batch = ForwardBatch()
            for r in rows[start..<start + n] {
                batch.add(r.token, sequence: 0, slot: r.slot, position: r.packed.position, logits: wantLogits(r.owner.0, r.owner.1),
                          shared: r.packed.shared, segmentStart: r.packed.segmentStart)
            }
            let base = start
            Transformer.run(batch, sequences: [self]) { r, l in
                let owner = rows[base + r].owner
                eachLogits(owner.0, owner.1, l)
            }
            start += n
        }
    }
}
