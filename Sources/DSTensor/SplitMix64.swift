/// SplitMix64 (Steele, Lea & Flood; Vigna's `splitmix64.c`): the seeded 64-bit sequence behind every reproducible
/// random number in dsllm (random model weights, training init, the sampler's xoshiro seeding, shuffles, built-in
/// evaluation tasks), and, through `mix` / `finalize`, the 64-bit hash mixer of dedup keys and the tokenizer's hash
/// tables. Same seed, same numbers, on every machine: goldens depend on these exact bits. It sits in DSTensor, the
/// bottom of the module graph, so every module can share this one copy.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The golden-ratio increment added to the state per step (⌊2⁶⁴/φ⌋, odd).
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.finalize(state)
    }

    /// The 64-bit hash of `x`: the first number `SplitMix64(seed: x)` gives (x plus gamma, finalized).
    @inlinable @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 { finalize(x &+ gamma) }

    /// SplitMix64's finalizer (Stafford's Mix13): every input bit flips each output bit with probability ~1/2.
    @inlinable @inline(__always)
    public static func finalize(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
