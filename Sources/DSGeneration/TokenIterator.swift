import DSModel
import DSTokenizer
import Foundation

/// One generated token: its id, the text it makes visible now (may be empty while UTF-8 or a possible stop
/// string is incomplete), and log p(id) under the model when asked for.
public struct GeneratedToken: Sendable {
    public var id: Int32
    public var text: String
    public var logprob: Float?
}

/// Generation as a sequence of tokens (mlx-swift-lm's shape): prefill on the first `next()`, then one
/// decode step per call, sampling with `GenerateParameters`, streaming text through the detokenizer and
/// the stop-string matcher. The model keeps its KV cache, so a chat can continue from where a reply ended.
public final class TokenIterator: IteratorProtocol, Sequence {
    public let model: Transformer
    public let sampler: Sampler
    public let parameters: GenerateParameters
    public private(set) var finishReason: FinishReason?
    public private(set) var generated: [Int32] = []
    public private(set) var prefillSeconds: Double = 0
    public private(set) var decodeSeconds: Double = 0
    public var wantLogprobs = false

    private let prompt: [Int32]
    private var detokenizer: StreamingDetokenizer?
    private var stopMatcher: StopMatcher
    private var logits: UnsafeBufferPointer<Float>?
    private var pendingToken: Int32?
    private var cancelFlag = false

    /// `prompt` is fed after whatever the model already holds; `history` (default: the prompt) is what the
    /// penalties see. Stop ids are the parameters' plus the tokenizer's end-of-sequence (unless `ignoreEOS`).
    public init(model: Transformer, tokenizer: Tokenizer?, prompt: [Int32], parameters: GenerateParameters,
                history: [Int32]? = nil) {
        self.model = model
        self.prompt = prompt
        var p = parameters
        if !p.ignoreEOS {
            if let eos = tokenizer?.eosID { p.stopIDs.insert(eos) }
            // generation_config.json's eos_token_id list: every id in it ends generation, as in transformers.
            for id in model.weights.generation?.eosTokenIDs ?? [] { p.stopIDs.insert(Int32(id)) }
        }
        self.parameters = p
        sampler = Sampler(parameters: p, vocabularySize: model.config.vocabularySize)
        sampler.accept(history ?? prompt)
        detokenizer = tokenizer.map { StreamingDetokenizer(tokenizer: $0) }
        stopMatcher = StopMatcher(p.stop)
    }

    /// Ends generation before the next token (thread-safe enough for a signal flag: a plain Bool read per step).
    public func cancel() { cancelFlag = true }

    public func next() -> GeneratedToken? {
        guard finishReason == nil else { return nil }
        if cancelFlag { return finish(.cancelled) }
        if logits == nil {
            let t = Date()
            precondition(!prompt.isEmpty || model.length > 0, "nothing to continue from")
            logits = prompt.isEmpty ? nil : model.prefill(prompt)
            prefillSeconds = Date().timeIntervalSince(t)
            if logits == nil { return finish(.length) }
        }
        let t = Date()
        defer { decodeSeconds += Date().timeIntervalSince(t) }
        if let token = pendingToken {
            guard model.length < model.maxSequence else { return finish(.length) }
            logits = model.forward(token: token, position: model.length)
            pendingToken = nil
        }
        guard generated.count < parameters.maxTokens else { return finish(.length) }
        let l = logits!
        let id = sampler.sample(l)
        sampler.accept(id)
        generated.append(id)
        let lp = wantLogprobs ? LogProbs.compute(l, chosen: id, top: 0).0 : nil
        if parameters.stopIDs.contains(id) {
            finishReason = .stop
            return GeneratedToken(id: id, text: "", logprob: lp)
        }
        var piece = ""
        if var d = detokenizer {
            piece = (try? d.append(id)) ?? ""
            detokenizer = d
        }
        let visible = stopMatcher.feed(piece)
        if stopMatcher.stopped || sampler.grammar?.isComplete == true {
            // A complete grammar allows nothing but end-of-sequence: stop now rather than spend a step on it.
            finishReason = .stop
        } else if generated.count >= parameters.maxTokens {
            finishReason = .length
        } else {
            pendingToken = id
        }
        return GeneratedToken(id: id, text: visible, logprob: lp)
    }

    private func finish(_ reason: FinishReason) -> GeneratedToken? {
        finishReason = reason
        return nil
    }

    /// Text still held back when generation ended (an incomplete UTF-8 sequence, a partial stop string).
    public func flush() -> String {
        var tail = ""
        if var d = detokenizer, !stopMatcher.stopped {
            tail = d.flush()
            detokenizer = d
        }
        return stopMatcher.feed(tail) + stopMatcher.flush()
    }

    /// Tokens per second of the decode loop and of the prefill.
    public var decodeRate: Double { Double(Swift.max(generated.count - 1, 0)) / Swift.max(decodeSeconds, 1e-9) }
    public var prefillRate: Double { Double(prompt.count) / Swift.max(prefillSeconds, 1e-9) }
}
