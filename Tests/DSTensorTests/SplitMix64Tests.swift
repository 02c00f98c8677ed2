import DSTensor
import Testing

/// SplitMix64's bits are pinned: random models, training init, shuffles, built-in tasks, dedup keys and the
/// tokenizer's hash tables all depend on them, so a change here would silently move every golden.
@Suite struct SplitMix64Tests {
    @Test func sequenceMatchesVignasReference() {
        // splitmix64.c (Vigna) from x = 0, and from 1234567 (computed with Python's integers).
        var zero = SplitMix64(seed: 0)
        #expect([zero.next(), zero.next(), zero.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var other = SplitMix64(seed: 1_234_567)
        #expect([other.next(), other.next(), other.next()] == [0x599E_D017_FB08_FC85, 0x2C73_F084_5854_0FA5, 0x883E_BCE5_A3F2_7C77])
    }

    @Test func mixIsTheFirstOutputOfASeededGenerator() {
        #expect(SplitMix64.finalize(0) == 0)
        #expect(SplitMix64.finalize(0xDEAD_BEEF) == 0x4E06_2702_EC92_9EEA)
        for x: UInt64 in [0, 1, 0xDEAD_BEEF, .max, 0x9E37_79B9_7F4A_7C15] {
            var g = SplitMix64(seed: x)
            #expect(SplitMix64.mix(x) == g.next())
        }
    }

    @Test func drivesTheStandardLibrarysRandomAPIs() {
        // As a RandomNumberGenerator: the same seed gives the same shuffle.
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        #expect(Array(0..<20).shuffled(using: &a) == Array(0..<20).shuffled(using: &b))
        #expect(Int.random(in: 0..<1000, using: &a) == Int.random(in: 0..<1000, using: &b))
    }
}
