import DSTensor

/// Small open-addressing hash tables for the tokenizer's hot paths. Swift's `Dictionary` hashes
/// with SipHash and boxes `[UInt8]` keys; these tables hash integers or raw byte ranges directly,
/// which is what makes loading 100k merges and the per-piece cache cheap.

@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    // FNV-1a over 8-byte words, then a final avalanche (SplitMix64's finalizer): fast and good enough for
    // tables we size ourselves.
    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(n)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= n {
        h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01b3
        h ^= h >> 29
        i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
        tail |= UInt64(p[i]) << shift
        shift += 8
        i += 1
    }
    h = (h ^ tail) &* 0x100_0000_01b3
    return SplitMix64.finalize(h)
}

/// Map from (left symbol, right symbol) to (merge rank, merged symbol).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]  // rank << 32 | merged symbol
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    /// Inserts unless the key is present (the first, lowest-rank merge of a pair wins).
    mutating func insertIfAbsent(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = Int(truncatingIfNeeded: SplitMix64.mix(key)) & mask
        while keys[i] != Self.empty {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    /// (rank, merged) for a pair, or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        return keys.withUnsafeBufferPointer { k in
            var i = Int(truncatingIfNeeded: SplitMix64.mix(key)) & mask
            while true {
                let ki = k[i]
                if ki == key {
                    let v = values[i]
                    return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
                }
                if ki == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }
}

/// Map from byte strings to Int32, keys stored in one arena.
struct ByteStringTable: Sendable {
    private(set) var arena: [UInt8] = []
    private var starts: [Int32] = []  // per entry
    private var lengths: [Int32] = []
    private var values: [Int32] = []
    private var slots: [Int32]  // entry index + 1, 0 = empty
    private var mask: Int
    var count: Int { values.count }

    /// Entry e's key start in `arena`, key length and value.
    func entry(_ e: Int) -> (Int, Int, Int32) { (Int(starts[e]), Int(lengths[e]), values[e]) }

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        starts.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    func get(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        var i = Int(truncatingIfNeeded: hashBytes(p, n)) & mask
        return arena.withUnsafeBufferPointer { a in
            while true {
                let e = Int(slots[i])
                if e == 0 { return nil }
                if Int(lengths[e - 1]) == n && (n == 0 || memcmpEqual(a.baseAddress! + Int(starts[e - 1]), p, n)) {
                    return values[e - 1]
                }
                i = (i + 1) & mask
            }
        }
    }

    func get(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard let base = bytes.baseAddress else { return getEmpty() }
        return get(base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    func get(_ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { get($0) }
    }

    private func getEmpty() -> Int32? {
        var dummy: UInt8 = 0
        return withUnsafePointer(to: &dummy) { get($0, 0) }
    }

    /// Inserts unless present; returns the value now stored.
    @discardableResult
    mutating func insertIfAbsent(_ p: UnsafePointer<UInt8>, _ n: Int, value: Int32) -> Int32 {
        if let v = get(p, n) { return v }
        if (values.count + 1) * 2 > slots.count { grow() }
        starts.append(Int32(arena.count))
        lengths.append(Int32(n))
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        values.append(value)
        place(values.count - 1, hash: hashBytes(p, n))
        return value
    }

    @discardableResult
    mutating func insertIfAbsent(_ bytes: [UInt8], value: Int32) -> Int32 {
        if bytes.isEmpty {
            var dummy: UInt8 = 0
            return withUnsafePointer(to: &dummy) { insertIfAbsent($0, 0, value: value) }
        }
        return bytes.withUnsafeBufferPointer { insertIfAbsent($0.baseAddress!, $0.count, value: value) }
    }

    /// Inserts, or replaces the value of an existing key (later vocabulary entries win, as in llama.cpp).
    mutating func insertOrReplace(_ p: UnsafePointer<UInt8>, _ n: Int, value: Int32) {
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = hashBytes(p, n)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i]) - 1
            if e < 0 { break }
            if Int(lengths[e]) == n
                && arena.withUnsafeBufferPointer({ n == 0 || memcmpEqual($0.baseAddress! + Int(starts[e]), p, n) }) {
                values[e] = value
                return
            }
            i = (i + 1) & mask
        }
        starts.append(Int32(arena.count))
        lengths.append(Int32(n))
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        values.append(value)
        slots[i] = Int32(values.count)
    }

    private mutating func place(_ entry: Int, hash: UInt64) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = Int32(entry + 1)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for e in 0..<values.count {
            let h = arena.withUnsafeBufferPointer { hashBytes($0.baseAddress! + Int(starts[e]), Int(lengths[e])) }
            place(e, hash: h)
        }
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 8 <= n {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
