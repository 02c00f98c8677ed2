import DSModel
import Foundation

/// lm-evaluation-harness's request types over one `Transformer`: `loglikelihood` (a continuation's summed
/// log-probability given a context, and whether greedy decoding would produce it) and `loglikelihood_rolling`
/// (a whole text's log-probability in windows). A context shared by several continuations (the choices of a
/// multiple-choice question) is computed once: the KV cache is cut back to it before each continuation.
public final class LogLikelihoodScorer {
    public let model: Transformer
    public init(model: Transformer) { self.model = model }

    public struct Result: Sendable, Equatable {
        public var logLikelihood: Double
        public var isGreedy: Bool
        public var tokens: Int
    }

    /// log p(continuation | context) for each continuation, the context prefilled once. The context must not be
    /// empty (lm-eval puts the end-of-text / BOS token there when it is); context + continuation must fit the model.
    public func score(context: [Int32], continuations: [[Int32]]) -> [Result] {
        precondition(!context.isEmpty, "an empty context has nothing to predict the first token from")
        model.reset()
        let last = model.prefill(context)
        let first = Array(last)   // the prediction for every continuation's first token
        return continuations.map { cont in
            guard !cont.isEmpty else { return Result(logLikelihood: 0, isGreedy: true, tokens: 0) }
            precondition(context.count + cont.count <= model.maxSequence + 1, "context + continuation exceed the model's context")
            model.truncate(to: context.count)
            var ll = 0.0
            var greedy = true
            first.withUnsafeBufferPointer { l in
                ll += logSoftmax(l, at: Int(cont[0]))
                greedy = greedy && argmax(l) == Int(cont[0])
            }
            if cont.count > 1 {
                // prefill reports absolute positions: cont[i] sits at context.count + i and predicts cont[i + 1].
                model.prefill(Array(cont.dropLast())) { position, logits in
                    let next = Int(cont[position - context.count + 1])
                    ll += logSoftmax(logits, at: next)
                    greedy = greedy && argmax(logits) == next
                }
            }
            return Result(logLikelihood: ll, isGreedy: greedy, tokens: cont.count)
        }
    }

    /// `score` for many requests, packed into as few passes as fit the model's context (batched scoring): each
    /// pass holds several requests' contexts, each followed by its continuations, which see only that context and
    /// themselves (`Transformer.prefillPacked`), so every result equals the one-at-a-time `score`.
    /// `maxRequestsPerPass` caps a pass (1 = one request per pass, still sharing its context).
    public func scoreBatch(_ requests: [(context: [Int32], continuations: [[Int32]])], maxRequestsPerPass: Int = .max) -> [[Result]] {
        var out = requests.map { $0.continuations.map { Result(logLikelihood: 0, isGreedy: true, tokens: $0.count) } }
        var i = 0
        while i < requests.count {
            var segments: [(tokens: [Int32], position: Int, shared: Range<Int>)] = []
            var owner: [(request: Int, continuation: Int)] = []   // continuation -1: the context
            var slots = 0, members = 0
            while i < requests.count && members < maxRequestsPerPass {
                let r = requests[i]
                precondition(!r.context.isEmpty, "an empty context has nothing to predict the first token from")
                let need = r.context.count + r.continuations.reduce(0) { $0 + max($1.count - 1, 0) }
                if need > model.maxSequence {
                    if members > 0 { break }
                    out[i] = score(context: r.context, continuations: r.continuations)   // alone, cache cut back per choice
                    i += 1
                    continue
                }
                if slots + need > model.maxSequence { break }
                let contextSlots = slots..<slots + r.context.count
                segments.append((r.context, 0, 0..<0))
                owner.append((i, -1))
                for (k, c) in r.continuations.enumerated() where c.count > 1 {
                    segments.append((Array(c.dropLast()), r.context.count, contextSlots))
                    owner.append((i, k))
                }
                slots += need
                members += 1
                i += 1
            }
            guard !segments.isEmpty else { continue }
            model.reset()
            model.prefillPacked(segments, wantLogits: { s, j in owner[s].continuation >= 0 || j == segments[s].tokens.count - 1 }) { s, j, logits in
                let (q, k) = owner[s]
                if k < 0 {
                    // The context's last position predicts every continuation's first token.
                    for (kk, c) in requests[q].continuations.enumerated() where !c.isEmpty {
                        out[q][kk].logLikelihood += logSoftmax(logits, at: Int(c[0]))
                        out[q][kk].isGreedy = out[q][kk].isGreedy && argmax(logits) == Int(c[0])
                    }
                } else {
                    let next = Int(requests[q].continuations[k][j + 1])
                    out[q][k].logLikelihood += logSoftmax(logits, at: next)
                    out[q][k].isGreedy = out[q][k].isGreedy && argmax(logits) == next
                }
            }
            model.reset()
        }
        return out
    }

    /// Σ log p(token) over every token of `tokens`, in windows of at most `window` tokens (the model's context by
    /// default). The first window starts with `prefix` (BOS / end-of-text: lm-eval's `prefix_token`) so the first
    /// token is predicted too. `stride` < window makes windows overlap: each window then scores only its last
    /// `stride` tokens, with the rest as context (the sliding-window perplexity of transformers' docs);
    /// `stride` = window gives lm-eval's rolling windows (get_rolling_token_windows with context_len 1: each window
    /// predicts `window` new tokens from the token before them; the last window reaches back for a full context).
    public func rolling(_ tokens: [Int32], prefix: Int32, window: Int? = nil, stride: Int? = nil) -> (logLikelihood: Double, tokens: Int) {
        let w = min(window ?? model.maxSequence, model.maxSequence)
        let step = min(stride ?? w, w)
        precondition(w >= 2 && step >= 1)
        let all = [prefix] + tokens   // all[i + 1] is tokens[i]; all[0] only predicts
        var total = 0.0
        var scored = 0              // tokens[..<scored] done
        while scored < tokens.count {
            let end = min(scored + step, tokens.count)        // score tokens[scored..<end]
            let start = max(0, end - w)                        // inputs all[start..<end] predict all[start+1...end]
            model.reset()
            let inputs = Array(all[start..<end])
            model.prefill(inputs) { t, logits in              // after reset, positions are indices into inputs
                let target = start + t + 1                     // index into all
                if target - 1 >= scored { total += logSoftmax(logits, at: Int(all[target])) }
            }
            scored = end
        }
        return (total, tokens.count)
    }
}
