import Foundation

/// MinHash parameters, datatrove's defaults: word 5-gram shingles of the normalized text, 14 bands × 8 hashes,
/// XXH64 shingle hashes, permutations drawn from numpy's RandomState(seed).
public struct MinHashConfig: Sendable {
    public var ngrams = 5
    public var bands = 14
    public var rows = 8
    public var seed: UInt64 = 1
    public init() {}
    public var hashCount: Int { bands * rows }

    /// The probability that a pair with shingle Jaccard `j` shares at least one band: 1 − (1 − j^r)^b.
    public func candidateProbability(jaccard j: Double) -> Double { 1 - pow(1 - pow(j, Double(rows)), Double(bands)) }
}

/// Shingles and signatures exactly as datatrove's MinhashDedupSignature computes them.
public struct MinHasher: Sendable {
    public static let mersennePrime: UInt64 = (1 << 61) - 1
    public let config: MinHashConfig
    public let a: [UInt64], b: [UInt64]

    public init(config: MinHashConfig) {
        self.config = config
        var rs = NumpyRandomState(seed: UInt32(truncatingIfNeeded: config.seed))
        let n = config.hashCount
        a = (0..<n).map { _ in rs.randint(low: 1, high: Self.mersennePrime) }
        b = (0..<n).map { _ in rs.randint(low: 0, high: Self.mersennePrime) }
    }

    /// XXH64 of every window of `ngrams` normalized words joined by single spaces (none below `ngrams` words).
    public func shingles(_ text: String) -> [UInt64] {
        shingles(words: EnglishWordTokenizer.shared.words(TextNormalizer.simplify(text)))
    }

    public func shingles(words: [String]) -> [UInt64] {
        let n = config.ngrams
        guard words.count >= n else { return [] }
        let utf8 = words.map { Array($0.utf8) }
        var out = [UInt64]()
        out.reserveCapacity(words.count - n + 1)
        var buf = [UInt8]()
        for i in 0...(words.count - n) {
            buf.removeAll(keepingCapacity: true)
            for k in i..<(i + n) {
                if k > i { buf.append(32) }
                buf.append(contentsOf: utf8[k])
            }
            out.append(buf.withUnsafeBytes { XXHash64.hash($0) })
        }
        return out
    }

    /// (h·a + b) with 64-bit wrap-around (numpy uint64), then mod 2^61 − 1.
    @inline(__always) static func permute(_ h: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        let x = h &* a &+ b
        let r = (x & mersennePrime) &+ (x >> 61)
        return r >= mersennePrime ? r &- mersennePrime : r
    }

    /// The signature: for each of the bands × rows permutations, the minimum over the shingles.
    public func signature(_ shingles: [UInt64]) -> [UInt64] {
        var sig = [UInt64](repeating: .max, count: config.hashCount)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                sig.withUnsafeMutableBufferPointer { s in
                    for h in shingles {
                        for j in 0..<s.count {
                            let v = Self.permute(h, a[j], b[j])
                            if v < s[j] { s[j] = v }
                        }
                    }
                }
            }
        }
        return sig
    }
}

/// datatrove's stage-3 union–find: union by size (the first argument's root wins ties), path compression;
/// the document kept from a cluster is its root.
struct UnionFind {
    var parent: [Int32]
    var size: [Int32]

    init(count: Int) {
        parent = (0..<count).map { Int32($0) }
        size = [Int32](repeating: 1, count: count)
    }

    mutating func find(_ x: Int32) -> Int32 {
        var r = x
        while parent[Int(r)] != r { r = parent[Int(r)] }
        var c = x
        while parent[Int(c)] != r {
            let next = parent[Int(c)]
            parent[Int(c)] = r
            c = next
        }
        return r
    }

    mutating func union(_ a: Int32, _ b: Int32) {
        var ra = find(a), rb = find(b)
        guard ra != rb else { return }
        if size[Int(ra)] < size[Int(rb)] { swap(&ra, &rb) }
        parent[Int(rb)] = ra
        size[Int(ra)] += size[Int(rb)]
    }
}
