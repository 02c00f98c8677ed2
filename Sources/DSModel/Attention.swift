import DSTensor
import Foundation

// Attention and the element-wise vector math of the forward pass. Everything is f32; the SIMD code compiles to
// 256-bit FMA with the module's -target-cpu (haswell). Every attention kernel gives a row the same bits (scores in
// `headDot`'s order, 64-key tiles from slot 0, one online softmax): see Attention+Row.swift.

/// Queries per prefill block: two SIMD16 vectors' worth, so the running maximum, the running sum and the softmax are
/// vectors across the block's queries (scores are laid out key-major, [key × 32 queries]).
/// 64 measured the same at 2048 tokens (half the K/V reads, more masked work on the diagonal).
let attentionQueryBlock = 32
/// Keys per tile: a 64 × 128 f32 tile (32 KB) stays in L1/L2 while every query head of its group uses it.
let attentionKeyTile = 64

// Attention scores: q · k over n dimensions in the one order every attention kernel uses, so a token's scores never
// depend on which kernel ran it (issue 21): fma into one 8-lane accumulator chunk by chunk (8 dimensions at a time, in
// order), the lanes summed by halving (`sum8`), then unfused products for the last n % 8 dimensions (`dotTail`).
// One chain per (query, key) pair; the kernels interleave several pairs to hide the fma latency.

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Lanes of an 8-lane accumulator summed by halving (halves by bit cast: the generic `lowHalf` may copy lane by lane).
@inline(__always) func sum8(_ v: SIMD8<Float>) -> Float {
    let h = unsafeBitCast(v, to: (SIMD4<Float>, SIMD4<Float>).self)
    let a = h.0 + h.1
    let q = unsafeBitCast(a, to: (SIMD2<Float>, SIMD2<Float>).self)
    let b = q.0 + q.1
    return b[0] + b[1]
}

/// s + Σ q[e]·k(e) for e in from..<n, unfused, in order (the dimensions past the last whole 8).
@inline(__always) func dotTail(_ s: Float, _ q: UnsafePointer<Float>, from: Int, count n: Int, _ element: (Int) -> Float) -> Float {
    var s = s
    for e in from..<n { s += element(e) * q[e] }
    return s
}

/// The score order for one pair (see above); `chunk(e)` and `element(e)` read k's dimensions as floats.
@inline(__always) func headDot(_ q: UnsafePointer<Float>, count n: Int, chunk: (Int) -> SIMD8<Float>,
                               element: (Int) -> Float) -> Float {
    var acc = SIMD8<Float>()
    var e = 0
    while e + 8 <= n {
        acc.addProduct(chunk(e), load8(q + e))
        e += 8
    }
    return dotTail(sum8(acc), q, from: e, count: n, element)
}

/// (v1, v0, v3, v2, …): each adjacent pair exchanged, by rotating 64-bit lanes (RoPE's interleaved layout).
@inline(__always) func swapAdjacentPairs(_ v: SIMD16<Float>) -> SIMD16<Float> {
    let u = unsafeBitCast(v, to: SIMD8<UInt64>.self)
    return unsafeBitCast((u &<< 32) | (u &>> 32), to: SIMD16<Float>.self)
}

extension Transformer {
    /// Causal attention of n consecutive tokens at cache slots first..<first+n (keys and values already stored), token t
    /// seeing slots 0...first+t. `q` and `out` are [n × queryDim]. Flash-style: one task per (KV head, block of 32
    /// queries) walks the key tiles with an online softmax, so scores never leave L1 and each K/V tile is read
    /// (and converted to f32) once for every query head of its group.
    func attendCausal(queries q: UnsafePointer<Float>, count n: Int, first: Int, layer l: Int,
                      into out: UnsafeMutablePointer<Float>) {
        let c = config
        let d = c.headDim, groups = c.headCount / c.kvHeadCount, B = attentionQueryBlock, T = attentionKeyTile
        let blocks = (n + B - 1) / B
        // Per task: output accumulators for each head of the group, the running max and
        // sum, the score tile, and K/V tiles when the cache must be converted.
        let scratchFloats = groups * B * d + 3 * groups * B + T * B + 2 * T * d
        pool.run(tasks: blocks * c.kvHeadCount, threads: threads) { [self] task in
            // Head-major, so the threads walk one head's keys and values together and its blocks reuse them from L3
            // (block-major order streams the whole layer's cache from DRAM once per block); latest blocks first
            // within a head: they see the most keys, and the pool hands tasks out in order.
            let kvHead = task / blocks, block = blocks - 1 - task % blocks
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
            defer { scratch.deallocate() }
            attendBlock(q, n: n, first: first, layer: l, kvHead: kvHead, block: block, scratch: scratch, into: out)
        }
    }

    private func attendBlock(_ q: UnsafePointer<Float>, n: Int, first: Int, layer l: Int, kvHead: Int, block: Int,
                             scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = config
        let d = c.headDim, groups = c.headCount / c.kvHeadCount, B = attentionQueryBlock, T = attentionKeyTile
        let row0 = block * B, rows = min(B, n - row0)
        let position0 = first + row0, keyEnd = position0 + rows
        let scale = 1 / sqrtf(Float(d))
        let o = scratch, runningMax = o + groups * B * d
        let runningSum = runningMax + groups * B, correction = runningSum + groups * B
        let s = correction + groups * B, keyTile = s + T * B, valueTile = keyTile + T * d
        for g in 0..<groups {
            (o + g * B * d).initialize(repeating: 0, count: B * d)
            (runningMax + g * B).initialize(repeating: -.infinity, count: B)
            (runningSum + g * B).initialize(repeating: 0, count: B)
        }
        var tileStart = 0
        while tileStart < keyEnd {
            let tn = min(T, keyEnd - tileStart)
            let (keys, keyStride) = cache.rows(.keys, layer: l, from: tileStart, count: tn, offset: kvHead * d, width: d,
                                               scratch: keyTile)
            let (values, valueStride) = cache.rows(.values, layer: l, from: tileStart, count: tn, offset: kvHead * d,
                                                   width: d, scratch: valueTile)
            for g in 0..<groups {
                let head = kvHead * groups + g
                scoreTile(q + row0 * c.queryDim + head * d, queryStride: c.queryDim, rows: rows, firstKey: tileStart - position0,
                          keys: keys, stride: keyStride, count: tn, dim: d, scale: scale, into: s)
                onlineSoftmax(s, count: tn, max: runningMax + g * B, sum: runningSum + g * B, correction: correction + g * B)
                accumulatePV(s, values: values, stride: valueStride, count: tn, dim: d, rows: rows,
                             correction: correction + g * B, into: o + g * B * d)
            }
            tileStart += tn
        }
        for g in 0..<groups {
            let head = kvHead * groups + g
            for i in 0..<rows {
                let inverse = 1 / runningSum[g * B + i]
                let src = o + g * B * d + i * d, dst = out + (row0 + i) * c.queryDim + head * d
                for k in 0..<d { dst[k] = src[k] * inverse }
            }
        }
    }
}

/// s[j × 32 + i] = scale · (key j · query i) in `headDot`'s order for the block's `rows` queries (rows `queryStride`
/// floats apart), −∞ where key j comes after query i (it sits `firstKey + j` slots after query 0), 0 in the padding
/// rows. Register tiles of 4 queries × 2 keys: six loads feed eight independent fma chains.
private func scoreTile(_ q: UnsafePointer<Float>, queryStride qs: Int, rows: Int, firstKey: Int, keys: UnsafePointer<Float>,
                       stride ks: Int, count tn: Int, dim d: Int, scale: Float, into s: UnsafeMutablePointer<Float>) {
    let B = attentionQueryBlock, whole = d & ~7
    var i = 0
    while i + 4 <= rows {
        let q0 = q + i * qs, q1 = q0 + qs, q2 = q1 + qs, q3 = q2 + qs
        var j = 0
        while j + 2 <= tn {
            let ka = keys + j * ks, kb = ka + ks
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
            var e = 0
            while e < whole {
                let x = load8(ka + e), y = load8(kb + e)
                var v = load8(q0 + e); a0.addProduct(x, v); b0.addProduct(y, v)
                v = load8(q1 + e); a1.addProduct(x, v); b1.addProduct(y, v)
                v = load8(q2 + e); a2.addProduct(x, v); b2.addProduct(y, v)
                v = load8(q3 + e); a3.addProduct(x, v); b3.addProduct(y, v)
                e += 8
            }
            let ra = s + j * B + i, rb = ra + B
            ra[0] = dotTail(sum8(a0), q0, from: whole, count: d) { ka[$0] } * scale
            ra[1] = dotTail(sum8(a1), q1, from: whole, count: d) { ka[$0] } * scale
            ra[2] = dotTail(sum8(a2), q2, from: whole, count: d) { ka[$0] } * scale
            ra[3] = dotTail(sum8(a3), q3, from: whole, count: d) { ka[$0] } * scale
            rb[0] = dotTail(sum8(b0), q0, from: whole, count: d) { kb[$0] } * scale
            rb[1] = dotTail(sum8(b1), q1, from: whole, count: d) { kb[$0] } * scale
            rb[2] = dotTail(sum8(b2), q2, from: whole, count: d) { kb[$0] } * scale
            rb[3] = dotTail(sum8(b3), q3, from: whole, count: d) { kb[$0] } * scale
            j += 2
        }
        if j < tn {
            let k = keys + j * ks
            for r in 0..<4 { s[j * B + i + r] = headDot(q + (i + r) * qs, count: d, chunk: { load8(k + $0) }, element: { k[$0] }) * scale }
        }
        i += 4
    }
    while i < rows {
        for j in 0..<tn {
            let k = keys + j * ks
            s[j * B + i] = headDot(q + i * qs, count: d, chunk: { load8(k + $0) }, element: { k[$0] }) * scale
        }
        i += 1
    }
    // Masked keys (after their query) and the padding rows.
    for j in 0..<tn {
        let out = s + j * B
        for i in 0..<min(rows, max(0, firstKey + j)) { out[i] = -.infinity }
        for i in rows..<B { out[i] = 0 }
    }
}

/// One tile's step of the online softmax for 32 queries: the new running maximum m', the factor e^(m − m') that
/// rescales what was accumulated so far (into `correction`), the tile's scores replaced by e^(s − m'), and the
/// running sum updated. Every query sees slot 0, so m' is finite from the first tile on.
private func onlineSoftmax(_ s: UnsafeMutablePointer<Float>, count tn: Int, max m: UnsafeMutablePointer<Float>,
                           sum l: UnsafeMutablePointer<Float>, correction: UnsafeMutablePointer<Float>) {
    let B = attentionQueryBlock
    for g in stride(from: 0, to: B, by: 16) {
        let old = load16(m + g)
        var new = old
        for j in 0..<tn { new = max16(new, load16(s + j * B + g)) }
        var sum = SIMD16<Float>()
        for j in 0..<tn {
            let p = exp16(load16(s + j * B + g) - new)
            store16(p, s + j * B + g)
            sum += p
        }
        let c = exp16(old - new)
        store16(c, correction + g)
        store16(load16(l + g) * c + sum, l + g)
        store16(new, m + g)
    }
}

/// o[i] = correction[i] · o[i] + Σ_j p[j × 32 + i] · value j, for query rows 0..<rows (o = [32 × dim]). Register tiles
/// of 4 rows × 64 dimensions (16 accumulators), then 4 rows × 16, then scalar for a dimension that is no multiple of 16.
private func accumulatePV(_ p: UnsafePointer<Float>, values: UnsafePointer<Float>, stride vs: Int, count tn: Int,
                          dim d: Int, rows: Int, correction: UnsafePointer<Float>, into o: UnsafeMutablePointer<Float>) {
    let B = attentionQueryBlock
    var r = 0
    while r < rows {
        let o0 = o + r * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d
        let c0 = SIMD16<Float>(repeating: correction[r]), c1 = SIMD16<Float>(repeating: correction[r + 1])
        let c2 = SIMD16<Float>(repeating: correction[r + 2]), c3 = SIMD16<Float>(repeating: correction[r + 3])
        var e = 0
        while e + 64 <= d {
            var a00 = load16(o0 + e) * c0, a01 = load16(o0 + e + 16) * c0
            var a02 = load16(o0 + e + 32) * c0, a03 = load16(o0 + e + 48) * c0
            var a10 = load16(o1 + e) * c1, a11 = load16(o1 + e + 16) * c1
            var a12 = load16(o1 + e + 32) * c1, a13 = load16(o1 + e + 48) * c1
            var a20 = load16(o2 + e) * c2, a21 = load16(o2 + e + 16) * c2
            var a22 = load16(o2 + e + 32) * c2, a23 = load16(o2 + e + 48) * c2
            var a30 = load16(o3 + e) * c3, a31 = load16(o3 + e + 16) * c3
            var a32 = load16(o3 + e + 32) * c3, a33 = load16(o3 + e + 48) * c3
            for j in 0..<tn {
                let v = values + j * vs + e
                let v0 = load16(v), v1 = load16(v + 16), v2 = load16(v + 32), v3 = load16(v + 48)
                let pj = p + j * B + r
                var w = SIMD16<Float>(repeating: pj[0])
                a00.addProduct(w, v0); a01.addProduct(w, v1); a02.addProduct(w, v2); a03.addProduct(w, v3)
                w = SIMD16(repeating: pj[1])
                a10.addProduct(w, v0); a11.addProduct(w, v1); a12.addProduct(w, v2); a13.addProduct(w, v3)
                w = SIMD16(repeating: pj[2])
                a20.addProduct(w, v0); a21.addProduct(w, v1); a22.addProduct(w, v2); a23.addProduct(w, v3)
                w = SIMD16(repeating: pj[3])
                a30.addProduct(w, v0); a31.addProduct(w, v1); a32.addProduct(w, v2); a33.addProduct(w, v3)
            }
            store16(a00, o0 + e); store16(a01, o0 + e + 16); store16(a02, o0 + e + 32); store16(a03, o0 + e + 48)
            store16(a10, o1 + e); store16(a11, o1 + e + 16); store16(a12, o1 + e + 32); store16(a13, o1 + e + 48)
            store16(a20, o2 + e); store16(a21, o2 + e + 16); store16(a22, o2 + e + 32); store16(a23, o2 + e + 48)
            store16(a30, o3 + e); store16(a31, o3 + e + 16); store16(a32, o3 + e + 32); store16(a33, o3 + e + 48)
            e += 64
        }
        while e + 16 <= d {
            var a0 = load16(o0 + e) * c0, a1 = load16(o1 + e) * c1, a2 = load16(o2 + e) * c2, a3 = load16(o3 + e) * c3
            for j in 0..<tn {
                let v = load16(values + j * vs + e)
                let pj = p + j * B + r
                a0.addProduct(SIMD16(repeating: pj[0]), v)
                a1.addProduct(SIMD16(repeating: pj[1]), v)
                a2.addProduct(SIMD16(repeating: pj[2]), v)
                a3.addProduct(SIMD16(repeating: pj[3]), v)
            }
            store16(a0, o0 + e); store16(a1, o1 + e); store16(a2, o2 + e); store16(a3, o3 + e)
            e += 16
        }
        if e < d {
            for i in r..<(r + 4) {
                let oi = o + i * d
                for k in e..<d { oi[k] *= correction[i] }
                for j in 0..<tn {
                    let w = p[j * B + i], v = values + j * vs
                    for k in e..<d { oi[k] += w * v[k] }
                }
            }
        }
        r += 4
    }
}
