/// Elements that know whether they come out of a heap before another.
protocol HeapOrdered {
    func before(_ other: Self) -> Bool
}

/// A binary heap; `pop` returns the element that comes `before` all others. Used by BPE encoding
/// (merge candidates) and by the trainer (pair counts). Specialised per element type in release builds.
struct BinaryHeap<Element: HeapOrdered> {
    var storage: [Element]

    init(storage: [Element] = []) { self.storage = storage }

    var isEmpty: Bool { storage.isEmpty }

    mutating func removeAll() { storage.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Element) {
        storage.append(e)
        var i = storage.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !storage[i].before(storage[parent]) { break }
            storage.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var i = 0
        let n = storage.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var s = i
            if l < n && storage[l].before(storage[s]) { s = l }
            if r < n && storage[r].before(storage[s]) { s = r }
            if s == i { break }
            storage.swapAt(i, s)
            i = s
        }
        return top
    }
}
