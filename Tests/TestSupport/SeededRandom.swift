import DSTensor

/// A deterministic generator for tests: random cases are the same on every machine, so a failure reproduces.
/// The library's one SplitMix64 (DSTensor), under the name the tests use.
public typealias SeededRandom = SplitMix64
