/// Finds stop strings in streamed text even when they straddle token boundaries: text that could still
/// become a stop string is held back until it cannot (then emitted) or does (then dropped, with what follows).
/// Works on UTF-8 bytes, so "\n" matches inside "\r\n" as OpenAI's and llama.cpp's servers do.
public struct StopMatcher: Sendable {
    public let stops: [[UInt8]]
    private var pending: [UInt8] = []
    public private(set) var stopped = false

    public init(_ stops: [String]) { self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty } }

    /// Adds decoded text; returns what may be shown now. After a stop, returns the text before it and
    /// ignores everything later.
    public mutating func feed(_ text: String) -> String {
        if stopped { return "" }
        pending.append(contentsOf: text.utf8)
        if stops.isEmpty { return take(pending.count) }
        // The earliest complete stop string wins.
        var first: Int?
        for s in stops {
            if let at = Self.find(s, in: pending), at < (first ?? .max) { first = at }
        }
        if let at = first {
            stopped = true
            let out = take(at)
            pending.removeAll()
            return out
        }
        // Hold back the longest tail that is a prefix of some stop string.
        var hold = 0
        for s in stops {
            for n in stride(from: min(s.count - 1, pending.count), to: hold, by: -1)
            where pending[(pending.count - n)...].elementsEqual(s[..<n]) {
                hold = n
                break
            }
        }
        return take(pending.count - hold)
    }

    /// The held-back text at the end of generation (no stop string completed).
    public mutating func flush() -> String { stopped ? "" : take(pending.count) }

    private mutating func take(_ n: Int) -> String {
        let out = String(decoding: pending[..<n], as: UTF8.self)
        pending.removeFirst(n)
        return out
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        outer: for i in 0...(hay.count - needle.count) {
            for j in 0..<needle.count where hay[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }
}
