import Foundation

/// One step of the sampling chain: changes logits or drops candidates. The chain runs in llama.cpp's
/// default order — logit bias, penalties, top-k, top-p, min-p, temperature — then a token is drawn.
public protocol LogitProcessor {
    func process(_ candidates: inout Candidates, history: TokenHistory)
}

/// The tokens seen so far (prompt and generated), with counts over the penalty window.
public struct TokenHistory {
    public private(set) var tokens: [Int32] = []
    public var window: Int

    public init(window: Int) { self.window = window }

    public mutating func append(_ id: Int32) { tokens.append(id) }
    public mutating func append(contentsOf ids: [Int32]) { tokens.append(contentsOf: ids) }

    /// How often each token occurs in the last `window` tokens (all of them when window is -1).
    public func recentCounts() -> [Int32: Int] {
        let n = window < 0 ? tokens.count : min(window, tokens.count)
        var counts: [Int32: Int] = [:]
        for id in tokens[(tokens.count - n)...] { counts[id, default: 0] += 1 }
        return counts
    }
}

public struct LogitBiasProcessor: LogitProcessor {
    public let bias: [Int32: Float]
    public func process(_ c: inout Candidates, history: TokenHistory) {
        guard !bias.isEmpty else { return }
        if c.dense {
            // Still the whole vocabulary in id order: index directly.
            for (id, b) in bias where Int(id) < c.count && id >= 0 { c.logits[Int(id)] += b }
        } else {
            for i in 0..<c.count { if let b = bias[c.ids[i]] { c.logits[i] += b } }
        }
        c.sorted = false
    }
}

/// Repetition (CTRL: divide positive logits, multiply negative ones), frequency and presence penalties
/// over the recent window, as llama.cpp's penalties sampler applies them.
public struct PenaltyProcessor: LogitProcessor {
    public let repetition: Float, frequency: Float, presence: Float
    public func process(_ c: inout Candidates, history: TokenHistory) {
        guard repetition != 1 || frequency != 0 || presence != 0 else { return }
        let counts = history.recentCounts()
        guard !counts.isEmpty else { return }
        func penalise(_ l: Float, _ n: Int) -> Float {
            var v = l
            if repetition != 1 { v = v <= 0 ? v * repetition : v / repetition }
            return v - Float(n) * frequency - presence
        }
        if c.dense {
            for (id, n) in counts where id >= 0 && Int(id) < c.count { c.logits[Int(id)] = penalise(c.logits[Int(id)], n) }
        } else {
            for i in 0..<c.count { if let n = counts[c.ids[i]] { c.logits[i] = penalise(c.logits[i], n) } }
        }
        c.sorted = false
    }
}

public struct TopKProcessor: LogitProcessor {
    public let k: Int
    public func process(_ c: inout Candidates, history: TokenHistory) {
        if k > 0 && (k < c.count || !c.sorted) { c.keepTop(k) }
    }
}

/// Nucleus sampling without sorting the vocabulary: the softmax normaliser is one pass, then the top 256
/// (growing ×8 while their mass falls short of p) are selected with a heap and cut where the mass reaches p.
public struct TopPProcessor: LogitProcessor {
    public let p: Float
    public func process(_ c: inout Candidates, history: TokenHistory) {
        guard p < 1, c.count > 1 else { return }
        let mx = c.maxLogit
        var z: Double = 0
        for i in 0..<c.count { z += Double(expf(c.logits[i] - mx)) }
        let target = Double(p) * z
        var m = c.sorted ? c.count : min(256, c.count)
        while true {
            let k: Int
            let ids: UnsafeMutablePointer<Int32>, ls: UnsafeMutablePointer<Float>
            if c.sorted {
                k = c.count; ids = c.ids; ls = c.logits
            } else {
                k = c.selectTop(m, intoIDs: c.scratchIDs, logits: c.scratchLogits)
                ids = c.scratchIDs; ls = c.scratchLogits
            }
            var mass: Double = 0
            var keep = -1
            for i in 0..<k {
                mass += Double(expf(ls[i] - mx))
                if mass >= target { keep = i + 1; break }
            }
            if keep < 0 && k < c.count {
                m = min(c.count, m * 8)
                continue
            }
            let n = keep < 0 ? k : keep
            if ids != c.ids {
                c.ids.update(from: ids, count: n)
                c.logits.update(from: ls, count: n)
            }
            c.count = n
            c.sorted = true
            c.dense = false
            return
        }
    }
}

/// Keeps tokens with p ≥ minP · p_max, i.e. logit ≥ max + ln(minP): a threshold, no sort.
public struct MinPProcessor: LogitProcessor {
    public let p: Float
    public func process(_ c: inout Candidates, history: TokenHistory) {
        guard p > 0, c.count > 1 else { return }
        let threshold = c.maxLogit + logf(p)
        let wasSorted = c.sorted
        c.filter { _, l in l >= threshold }
        c.sorted = wasSorted
    }
}

public struct TemperatureProcessor: LogitProcessor {
    public let t: Float
    public func process(_ c: inout Candidates, history: TokenHistory) {
        guard t != 1 else { return }
        let inv = 1 / t
        for i in 0..<c.count { c.logits[i] *= inv }
    }
}
