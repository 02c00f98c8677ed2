import Foundation

/// Picks next tokens for one sequence: the processor chain of its `GenerateParameters`, then a draw from
/// the seeded generator (or argmax at temperature 0). Buffers are allocated once; `sample` allocates nothing
/// beyond the penalty counts.
public final class Sampler: @unchecked Sendable {
    public let parameters: GenerateParameters
    public let vocabularySize: Int
    /// The chain, in order. Exposed so callers can inspect or extend it.
    public var processors: [LogitProcessor]
    public var history: TokenHistory
    /// The seed in use (drawn from the system when the parameters gave none), so a run can be repeated.
    public let seed: UInt64
    private var rng: SeededGenerator
    private let buffers: UnsafeMutablePointer<Int32>, logitBuffers: UnsafeMutablePointer<Float>
    private let identity: UnsafeMutablePointer<Int32>
    /// This sequence's position in `parameters.grammar`, advanced by `accept(_ id:)`.
    public let grammar: GrammarMatcher?

    public init(parameters: GenerateParameters, vocabularySize: Int) {
        self.parameters = parameters
        self.vocabularySize = vocabularySize
        seed = parameters.seed ?? UInt64.random(in: 0...UInt64.max)
        rng = SeededGenerator(seed: seed)
        history = TokenHistory(window: parameters.penaltyLastN)
        var chain: [LogitProcessor] = []
        if !parameters.logitBias.isEmpty { chain.append(LogitBiasProcessor(bias: parameters.logitBias)) }
        if parameters.repetitionPenalty != 1 || parameters.frequencyPenalty != 0 || parameters.presencePenalty != 0 {
            chain.append(PenaltyProcessor(repetition: parameters.repetitionPenalty, frequency: parameters.frequencyPenalty,
                                          presence: parameters.presencePenalty))
        }
        if parameters.temperature > 0 {
            if parameters.topK > 0 { chain.append(TopKProcessor(k: parameters.topK)) }
            if parameters.topP < 1 { chain.append(TopPProcessor(p: parameters.topP)) }
            if parameters.minP > 0 { chain.append(MinPProcessor(p: parameters.minP)) }
            chain.append(TemperatureProcessor(t: parameters.temperature))
        }
        processors = chain
        grammar = parameters.grammar?.makeMatcher()
        buffers = .allocate(capacity: 2 * vocabularySize)
        logitBuffers = .allocate(capacity: 2 * vocabularySize)
        identity = .allocate(capacity: vocabularySize)
        for i in 0..<vocabularySize { identity[i] = Int32(i) }
    }

    deinit {
        buffers.deallocate()
        logitBuffers.deallocate()
        identity.deallocate()
    }

    /// The next token for these logits (the model's raw output for the last position). Does not record it:
    /// call `accept` with the token actually used (the caller may override the choice).
    public func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        precondition(logits.count == vocabularySize)
        var c = Candidates(ids: buffers, logits: logitBuffers, count: vocabularySize, sorted: false, dense: true,
                           scratchIDs: buffers + vocabularySize, scratchLogits: logitBuffers + vocabularySize)
        c.ids.update(from: identity, count: vocabularySize)
        c.logits.update(from: logits.baseAddress!, count: vocabularySize)
        // The grammar first, so that bias, penalties and top-k/top-p/min-p only ever see allowed tokens.
        grammar?.apply(to: c.logits, count: vocabularySize, raw: logits, stopIDs: parameters.stopIDs)
        for p in processors { p.process(&c, history: history) }
        if parameters.temperature == 0 { return greedy(c) }
        // Draw from softmax over what is left.
        let mx = c.maxLogit
        var total: Double = 0
        for i in 0..<c.count { total += Double(expf(c.logits[i] - mx)) }
        guard total > 0, total.isFinite else { return greedy(c) }
        var u = rng.unit() * total
        for i in 0..<c.count {
            u -= Double(expf(c.logits[i] - mx))
            if u < 0 { return c.ids[i] }
        }
        return c.ids[c.count - 1]
    }

    /// Highest logit, lowest id on ties (argmax over the raw logits when nothing changed them).
    private func greedy(_ c: Candidates) -> Int32 {
        var best = 0
        for i in 1..<max(c.count, 1) where c.logits[i] > c.logits[best] || (c.logits[i] == c.logits[best] && c.ids[i] < c.ids[best]) {
            best = i
        }
        return c.ids[best]
    }

    /// Records a generated token: the penalties see it and the grammar (if any) advances over it. A stop id ends
    /// generation and is not part of the grammar's text.
    public func accept(_ id: Int32) {
        history.append(id)
        if let grammar, !parameters.stopIDs.contains(id) { grammar.accept(id) }
    }

    /// Records context tokens (the prompt, a conversation so far): the penalties see them, the grammar does not —
    /// it constrains only what is generated after them.
    public func accept(_ ids: [Int32]) { history.append(contentsOf: ids) }
}

/// Log-probabilities under the model's own distribution (raw logits, temperature 1), as OpenAI reports them.
public enum LogProbs {
    /// log p(id) and the `top` most likely tokens with their log-probabilities (descending).
    public static func compute(_ logits: UnsafeBufferPointer<Float>, chosen: Int32, top: Int) -> (Float, [(Int32, Float)]) {
        var mx = -Float.infinity
        for l in logits where l > mx { mx = l }
        var z: Double = 0
        for l in logits { z += Double(expf(l - mx)) }
        let logZ = Float(log(z)) + mx
        let chosenLP = logits[Int(chosen)] - logZ
        guard top > 0 else { return (chosenLP, []) }
        // A small heap-free selection: top is ≤ 20 in OpenAI's API.
        var best: [(Int32, Float)] = []
        best.reserveCapacity(top + 1)
        for (i, l) in logits.enumerated() {
            if best.count < top || l > best[best.count - 1].1 {
                var j = best.count
                best.append((Int32(i), l))
                while j > 0 && best[j - 1].1 < l {
                    best[j] = best[j - 1]
                    j -= 1
                }
                best[j] = (Int32(i), l)
                if best.count > top { best.removeLast() }
            }
        }
        return (chosenLP, best.map { ($0.0, $0.1 - logZ) })
    }
}
