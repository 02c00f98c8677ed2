/// XXH64 (seed 0 by default), the hash datatrove gives every shingle (python-xxhash's xxh64_intdigest over UTF-8).
public enum XXHash64 {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87, p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F, p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63, p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 { rotl(acc &+ input &* p2, 31) &* p1 }
    @inline(__always) static func merge(_ acc: UInt64, _ val: UInt64) -> UInt64 { (acc ^ round(0, val)) &* p1 &+ p4 }

    public static func hash(_ p: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let len = p.count
        var i = 0
        var h: UInt64
        if len >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while i + 32 <= len {
                v1 = round(v1, p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                v2 = round(v2, p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                v3 = round(v3, p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
                v4 = round(v4, p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
                i += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt64(len)
        while i + 8 <= len {
            h ^= round(0, p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = rotl(h, 27) &* p1 &+ p4
            i += 8
        }
        if i + 4 <= len {
            h ^= UInt64(p.loadUnaligned(fromByteOffset: i, as: UInt32.self)) &* p1
            h = rotl(h, 23) &* p2 &+ p3
            i += 4
        }
        while i < len {
            h ^= UInt64(p[i]) &* p5
            h = rotl(h, 11) &* p1
            i += 1
        }
        h ^= h >> 33; h = h &* p2
        h ^= h >> 29; h = h &* p3
        h ^= h >> 32
        return h
    }

    public static func hash(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}

/// numpy's legacy `RandomState(seed)` (MT19937, init_genrand) and its bounded uint64 `randint`, so MinHash
/// permutations for any seed match datatrove's (which draws them with `np.random.RandomState(seed).randint`).
struct NumpyRandomState {
    var mt = [UInt32](repeating: 0, count: 624)
    var index = 624

    init(seed: UInt32) {
        mt[0] = seed
        for i in 1..<624 { mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i) }
    }

    mutating func next32() -> UInt32 {
        if index >= 624 {
            for i in 0..<624 {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7fff_ffff)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 1 ? 0x9908_b0df : 0)
            }
            index = 0
        }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    mutating func next64() -> UInt64 { (UInt64(next32()) << 32) | UInt64(next32()) }

    /// randint(low, high, dtype=uint64): masked rejection sampling as numpy's legacy path does it.
    mutating func randint(low: UInt64, high: UInt64) -> UInt64 {
        let rng = high - low - 1
        if rng == 0 { return low }
        var mask = rng
        for s in [1, 2, 4, 8, 16, 32] as [UInt64] { mask |= mask >> s }
        if rng <= 0xFFFF_FFFF {
            while true {
                let v = UInt64(next32()) & mask
                if v <= rng { return low + v }
            }
        }
        while true {
            let v = next64() & mask
            if v <= rng { return low + v }
        }
    }
}
