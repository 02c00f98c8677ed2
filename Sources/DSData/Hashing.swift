import DSTensor

/// Fast non-cryptographic hashing for deduplication keys: 8 bytes at a time with a strong final mix
/// (SplitMix64.mix). Two seeds give a 128-bit key, so 10⁹ distinct documents collide with
/// probability ~10⁻²⁰ — exact dedup never merges different texts in practice.
public enum TextHash {
    public static func hash64(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var h = SplitMix64.mix(seed ^ UInt64(bytes.count))
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            h = SplitMix64.mix(h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        return SplitMix64.mix(h ^ tail ^ 0xff51_afd7_ed55_8ccd)
    }

    public struct Key: Hashable, Sendable {
        public let a: UInt64, b: UInt64
    }

    public static func key(_ s: String) -> Key {
        var s = s
        return s.withUTF8 { p in
            let raw = UnsafeRawBufferPointer(p)
            return Key(a: hash64(raw, seed: 0x243f_6a88_85a3_08d3), b: hash64(raw, seed: 0x1319_8a2e_0370_7344))
        }
    }
}
