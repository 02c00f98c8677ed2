import DSTensor
import Foundation

// One query row's causal attention with the blocked kernel's arithmetic (Attention.swift), bit for bit — so a token's
// keys, values and logits never depend on whether it ran in a prefill block, alone as a decode step, or beside other
// requests in a server step (issue 21's batch invariance). What fixes the bits, per query and head:
//   • key tiles of `attentionKeyTile` slots aligned to slot 0 (masked slots of a block contribute exact zeros);
//   • score = `headDot`(q, k) · scale;
//   • per tile: m' = max(m, scores), p = e^(s − m') by `exp16`, the tile's p summed key by key, correction
//     c = e^(m − m'), l = l·c + sum, o = o·c then o += p_j·v_j key by key (fma);
//   • out = o · (1 / l).

extension Transformer {
    /// Attention of one query head (`qh`, headDim floats) over cache slots 0...last of layer l, head `kvOffset`,
    /// written to `out`: the same bits as that row of `attendCausal`. `scores` holds `attentionKeyTile` floats.
    /// Reads only the cache, so rows and heads run on several threads at once.
    func attendRow(_ qh: UnsafePointer<Float>, layer l: Int, last: Int, kvOffset: Int,
                   scores s: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let d = config.headDim, T = attentionKeyTile, scale = 1 / sqrtf(Float(d))
        var runningMax = -Float.infinity, runningSum: Float = 0
        out.update(repeating: 0, count: d)
        var tileStart = 0
        while tileStart <= last {
            let tn = min(T, last + 1 - tileStart), keys = tileStart..<(tileStart + tn)
            let tileMax = cache.keyScores(qh, layer: l, positions: keys, offset: kvOffset, count: d, scale: scale, into: s)
            // The blocked kernel's m' (a maximum is exact: the order and tie choice cannot change a bit of the result).
            let new = max(runningMax, tileMax)
            var j = 0
            while j + 16 <= tn {
                store16(exp16(load16(s + j) - SIMD16(repeating: new)), s + j)
                j += 16
            }
            if j < tn {
                var tail = SIMD16<Float>()
                for i in j..<tn { tail[i - j] = s[i] }
                tail = exp16(tail - SIMD16(repeating: new))
                for i in j..<tn { s[i] = tail[i - j] }
            }
            var sum: Float = 0
            for j in 0..<tn { sum += s[j] }
            let c = exp16(SIMD16(repeating: runningMax - new))[0]
            runningSum = runningSum * c + sum
            runningMax = new
            let correction = SIMD16<Float>(repeating: c)
            for e in stride(from: 0, to: d, by: 16) { store16(load16(out + e) * correction, out + e) }
            cache.accumulateValues(s, layer: l, positions: keys, offset: kvOffset, count: d, into: out)
            tileStart += tn
        }
        let inverse = SIMD16<Float>(repeating: 1 / runningSum)
        for e in stride(from: 0, to: d, by: 16) { store16(load16(out + e) * inverse, out + e) }
    }
}
