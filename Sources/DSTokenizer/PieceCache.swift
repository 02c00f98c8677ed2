/// Cache of piece bytes → token ids for the encode loop. Natural text repeats its pieces (" the",
/// " of", "ing") constantly, so most pieces skip BPE entirely. Bounded: cleared when full.
struct PieceCache {
    private var keys: [UInt8] = []
    private var ids: [TokenID] = []
    /// Per slot: key start, key length, ids start, ids count; keyLength == -1 marks an empty slot.
    private var slots: [Slot]
    private var used = 0
    private let capacity: Int

    struct Slot {
        var hash: UInt32 = 0
        var keyLength: Int32 = -1
        var keyStart: Int32 = 0
        var idStart: Int32 = 0
        var idCount: Int32 = 0
    }

    /// Pieces longer than this are not cached (rare and would crowd the arena).
    static let maxPieceLength = 64

    init(slots: Int = 1 << 16) {
        self.slots = [Slot](repeating: Slot(), count: slots)
        self.capacity = slots / 2
        keys.reserveCapacity(slots * 4)
        ids.reserveCapacity(slots * 2)
    }

    @inline(__always)
    mutating func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [TokenID]) -> Bool {
        guard n <= Self.maxPieceLength else { return false }
        let h = hashBytes(p, n)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        let h32 = UInt32(truncatingIfNeeded: h >> 32)
        return slots.withUnsafeBufferPointer { s in
            keys.withUnsafeBufferPointer { k in
                while true {
                    let slot = s[i]
                    if slot.keyLength < 0 { return false }
                    if slot.hash == h32 && Int(slot.keyLength) == n
                        && memcmpEqual(k.baseAddress! + Int(slot.keyStart), p, n) {
                        ids.withUnsafeBufferPointer { idb in
                            let first = idb.baseAddress! + Int(slot.idStart)
                            if slot.idCount == 1 {
                                out.append(first[0])
                            } else {
                                out.append(contentsOf: UnsafeBufferPointer(start: first, count: Int(slot.idCount)))
                            }
                        }
                        return true
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, ids newIDs: UnsafeBufferPointer<TokenID>) {
        guard n <= Self.maxPieceLength else { return }
        if used >= capacity { clear() }
        let h = hashBytes(p, n)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i].keyLength >= 0 { i = (i + 1) & mask }
        slots[i] = Slot(hash: UInt32(truncatingIfNeeded: h >> 32), keyLength: Int32(n), keyStart: Int32(keys.count),
                        idStart: Int32(ids.count), idCount: Int32(newIDs.count))
        keys.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        ids.append(contentsOf: newIDs)
        used += 1
    }

    private mutating func clear() {
        for i in slots.indices { slots[i].keyLength = -1 }
        keys.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        used = 0
    }
}
