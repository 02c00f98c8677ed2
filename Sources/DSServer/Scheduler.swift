import DSGeneration
import DSModel
import DSTokenizer
import Foundation
import Synchronization

/// What a request asks the scheduler for: one sequence (a request with n > 1 submits n jobs).
public struct JobRequest: Sendable {
    public var prompt: [Int32]
    public var parameters: GenerateParameters
    /// Top log-probabilities to report per generated token (nil: none; 0: only the chosen token's).
    public var logprobs: Int?
    /// Also report log-probabilities of the prompt tokens (completions with echo).
    public var promptLogprobs = false
    /// Reuse and fill the shared prefix cache (OpenAI-side field `"cache_prompt"`, default true; false opts out).
    public var cachePrompt = true
    public init(prompt: [Int32], parameters: GenerateParameters) {
        self.prompt = prompt
        self.parameters = parameters
    }
}

/// One token's log-probability and the top alternatives, as OpenAI reports them.
public struct TokenLogprob: Sendable {
    public var id: Int32
    public var logprob: Float
    public var top: [(Int32, Float)]
}

/// What a job streams back.
public enum JobEvent: Sendable {
    /// Log-probabilities of prompt tokens 1..<n (token 0 has none), when asked.
    case prompt([TokenLogprob])
    /// A generated token and the text it makes visible (possibly empty).
    case token(id: Int32, text: String, logprob: TokenLogprob?)
    /// The end: why, and the text still held back (an incomplete character, a partial stop string).
    case finished(FinishReason, tail: String, promptTokens: Int, completionTokens: Int)
}

/// A submitted job, shared between the HTTP side (which reads `events` and may cancel) and the scheduler thread.
public final class Job: @unchecked Sendable {
    public let request: JobRequest
    public let events: AsyncStream<JobEvent>
    let continuation: AsyncStream<JobEvent>.Continuation
    let submitted = Date()
    private let cancelled = Atomic<Bool>(false)

    init(_ request: JobRequest) {
        self.request = request
        (events, continuation) = AsyncStream.makeStream(of: JobEvent.self, bufferingPolicy: .unbounded)
    }

    /// Frees the job's slot at the next step (a client that went away).
    public func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// Continuous batching over N slots, on its own thread (never on the event loop). Each step is one forward pass
/// (`Transformer.forwardMixed`) over every generating slot's next token plus chunks of the prompts still being
/// read (at most `prefillChunk` prompt tokens per step in all) — so the weights are read once per step for
/// everyone, and a long prompt delays the others by one chunk per step, not by its whole length. Jobs join free
/// slots between steps and leave when they finish or are cancelled.
public final class Scheduler: @unchecked Sendable {
    public struct Options: Sendable {
        public var slots = 4
        public var context = 2048
        public var prefillChunk = 128
        public var queueLimit = 64
        public var threads: Int?
        /// The shared prefix cache (nil: off; each request then prefills its whole prompt).
        public var prefixCache: PrefixCache.Options? = PrefixCache.Options()
        public init() {}
    }

    public enum SubmitError: Error, Sendable {
        case queueFull, promptTooLong(Int, Int), emptyPrompt
        /// More jobs in one request than slots + queue: it would be refused however long the client waited.
        case neverFits(jobs: Int, capacity: Int)
    }

    public let weights: ModelWeights
    public let tokenizer: Tokenizer
    public let options: Options
    public let metrics: ServerMetrics
    /// Blocks of prompt KV shared by all slots (scheduler thread only).
    let prefixCache: PrefixCache?

    private final class Slot {
        let model: Transformer
        var job: Job?
        var sampler: Sampler?
        var fed = 0                 // prompt tokens already prefilled
        var pending: Int32?         // sampled, not yet fed to the model
        var generated = 0
        var detokenizer: StreamingDetokenizer
        var stop = StopMatcher([])
        var firstTokenAt: Date?
        /// Tokens whose keys and values the slot's cache holds at positions 0..<count — kept after the job ends, so
        /// the next turn of a conversation that lands here reuses them to the token.
        var tokens: [Int32] = []
        init(model: Transformer, tokenizer: Tokenizer) {
            self.model = model
            detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        }
    }

    private let slots: [Slot]
    private var queue: [Job] = []
    /// Slots holding a job. Guarded by `condition` (unlike `Slot.job`, which only the scheduler thread reads), so
    /// that `submit` can count what is in the system.
    private var occupied = 0
    private let condition = NSCondition()
    private var stopping = false
    private var thread: Thread?

    public init(weights: ModelWeights, tokenizer: Tokenizer, options: Options, metrics: ServerMetrics) {
        self.weights = weights
        self.tokenizer = tokenizer
        self.options = options
        self.metrics = metrics
        let ctx = min(options.context, weights.config.maxPositions)
        let slots = (0..<options.slots).map { _ in
            Slot(model: Transformer(weights: weights, maxSequence: ctx, threads: options.threads), tokenizer: tokenizer)
        }
        self.slots = slots
        prefixCache = options.prefixCache.map { PrefixCache(options: $0, weights: weights, cache: slots[0].model.cache) }
        if let c = prefixCache { metrics.setPrefixCache(c.stats) }
    }

    public var contextLength: Int { slots[0].model.maxSequence }

    public func start() {
        let t = Thread { [weak self] in self?.loop() }
        t.name = "dsllm-scheduler"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Jobs the server holds at once: one per slot plus `queueLimit` waiting.
    public var capacity: Int { options.slots + options.queueLimit }

    /// Queues a job; throws when the server is full (the HTTP side answers 503) or the prompt cannot fit.
    public func submit(_ request: JobRequest) throws(SubmitError) -> Job { try submit([request])[0] }

    /// Queues all of a request's jobs or none: a request is never left half admitted. Throws `queueFull` when
    /// they do not fit now (worth retrying), `neverFits` when they could not fit even into an idle server.
    public func submit(_ requests: [JobRequest]) throws(SubmitError) -> [Job] {
        for request in requests {
            if request.prompt.isEmpty { throw .emptyPrompt }
            if request.prompt.count >= contextLength { throw .promptTooLong(request.prompt.count, contextLength) }
        }
        if requests.count > capacity { throw .neverFits(jobs: requests.count, capacity: capacity) }
        let jobs = requests.map(Job.init)
        condition.lock()
        defer { condition.unlock() }
        if queue.count + occupied + jobs.count > capacity { throw .queueFull }
        queue += jobs
        metrics.setQueueDepth(queue.count)
        condition.signal()
        return jobs
    }

    /// Tests: runs on the scheduler thread before every step with the jobs in the slots, and may block it — so a
    /// test can hold the scheduler still until the state it waits for (a cancellation, a full queue) is reached,
    /// instead of racing it.
    private let beforeStepHook = Mutex<(@Sendable ([Job]) -> Void)?>(nil)
    func setBeforeStepForTesting(_ hook: (@Sendable ([Job]) -> Void)?) { beforeStepHook.withLock { $0 = hook } }

    // MARK: - The loop (scheduler thread only below this line)

    private func loop() {
        while true {
            condition.lock()
            while !stopping && queue.isEmpty && slots.allSatisfy({ $0.job == nil }) { condition.wait() }
            if stopping {
                condition.unlock()
                for s in slots where s.job != nil { finish(s, .cancelled) }
                for j in queue { j.continuation.finish() }
                return
            }
            while !queue.isEmpty, let s = bestFreeSlot(for: queue[0]) {
                assign(queue.removeFirst(), to: s)
                occupied += 1
            }
            metrics.setQueueDepth(queue.count)
            condition.unlock()
            metrics.setActiveSlots(slots.filter { $0.job != nil }.count)
            step()
        }
    }

    /// The free slot whose cache already holds the longest start of the job's prompt (the previous turn of the same
    /// conversation, usually), else the first free one.
    private func bestFreeSlot(for job: Job) -> Slot? {
        let free = slots.filter { $0.job == nil }
        guard job.request.cachePrompt, prefixCache != nil else { return free.first }
        return free.max { commonPrefix($0.tokens, job.request.prompt) < commonPrefix($1.tokens, job.request.prompt) }
    }

    private func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var i = 0
        while i < a.count && i < b.count && a[i] == b[i] { i += 1 }
        return i
    }

    private func assign(_ job: Job, to s: Slot) {
        s.job = job
        s.model.reset()
        s.fed = 0
        // Reuse: the slot's own tokens, then whole blocks of the shared cache; at least one prompt token is always
        // run (its logits start the reply), and prompts whose log-probabilities are wanted are run in full.
        let prompt = job.request.prompt
        if let cache = prefixCache, job.request.cachePrompt, !job.request.promptLogprobs {
            let limit = prompt.count - 1
            let own = min(commonPrefix(s.tokens, prompt), limit)
            let reused = cache.restore(prompt[...], limit: limit, valid: own, into: s.model.cache)
            s.model.adoptCachedPrefix(length: reused)
            s.fed = reused
            metrics.recordPrefixReuse(tokens: reused, stats: cache.stats)
        }
        s.tokens = Array(prompt[0..<s.fed])
        s.pending = nil
        s.generated = 0
        var p = job.request.parameters
        if let eos = tokenizer.eosID { p.stopIDs.insert(eos) }
        for id in weights.generation?.eosTokenIDs ?? [] { p.stopIDs.insert(Int32(id)) }
        s.sampler = Sampler(parameters: p, vocabularySize: weights.config.vocabularySize)
        s.sampler!.accept(job.request.prompt)
        s.detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        s.stop = StopMatcher(p.stop)
        s.firstTokenAt = nil
    }

    private func step() {
        if let hook = beforeStepHook.withLock({ $0 }) { hook(slots.compactMap(\.job)) }
        for s in slots where s.job?.isCancelled == true { finish(s, .cancelled) }
        // One forward pass for everything that can share it: every generating slot's next token, plus prompt
        // chunks of slots still reading their prompts, up to `prefillChunk` prompt tokens per step in all.
        var batch: [(Slot, [Int32], prefill: Bool)] = slots.filter { $0.job != nil && $0.pending != nil }.map { ($0, [$0.pending!], false) }
        var budget = options.prefillChunk
        for s in slots where budget > 0 {
            guard let job = s.job, s.pending == nil, s.fed < job.request.prompt.count, !job.request.promptLogprobs else { continue }
            let take = min(budget, job.request.prompt.count - s.fed)
            batch.append((s, Array(job.request.prompt[s.fed..<(s.fed + take)]), true))
            budget -= take
        }
        if !batch.isEmpty {
            let logits = Transformer.forwardMixed(batch.map(\.0.model), tokens: batch.map(\.1), buffersFrom: slots[0].model)
            for ((s, tokens, isPrefill), l) in zip(batch, logits) {
                s.tokens += tokens
                if isPrefill {
                    s.fed += tokens.count
                    guard let job = s.job, s.fed == job.request.prompt.count else { continue }
                    metrics.addPromptTokens(job.request.prompt.count)
                    if job.request.parameters.maxTokens == 0 { finish(s, .length); continue }
                } else {
                    s.pending = nil
                }
                sampleAndEmit(s, l)
            }
        }
        // Prompts whose log-probabilities are wanted (echo) need logits at every position: their own pass.
        if let s = slots.first(where: { $0.job != nil && $0.pending == nil && $0.fed < $0.job!.request.prompt.count
                                        && $0.job!.request.promptLogprobs }) {
            prefillChunk(s)
        }
    }

    private func prefillChunk(_ s: Slot) {
        let job = s.job!
        let prompt = job.request.prompt
        let end = min(prompt.count, s.fed + options.prefillChunk)
        let chunk = Array(prompt[s.fed..<end])
        var promptLogprobs: [TokenLogprob] = []
        let top = job.request.logprobs ?? 0
        let logits: UnsafeBufferPointer<Float>
        if job.request.promptLogprobs {
            // Logits at position t score prompt token t + 1.
            logits = s.model.prefill(chunk, chunk: options.prefillChunk) { t, l in
                if t + 1 < prompt.count {
                    let (lp, best) = LogProbs.compute(l, chosen: prompt[t + 1], top: top)
                    promptLogprobs.append(TokenLogprob(id: prompt[t + 1], logprob: lp, top: best))
                }
            }
        } else {
            logits = s.model.prefill(chunk, chunk: options.prefillChunk)
        }
        s.fed = end
        s.tokens += chunk
        if !promptLogprobs.isEmpty { job.continuation.yield(.prompt(promptLogprobs)) }
        if end == prompt.count {
            metrics.addPromptTokens(prompt.count)
            if job.request.parameters.maxTokens == 0 { return finish(s, .length) }
            sampleAndEmit(s, logits)
        }
    }

    /// Samples from the slot's latest logits, streams the token, and decides whether the slot goes on.
    private func sampleAndEmit(_ s: Slot, _ logits: UnsafeBufferPointer<Float>) {
        guard let job = s.job, let sampler = s.sampler else { return }
        if job.isCancelled { return finish(s, .cancelled) }
        let id = sampler.sample(logits)
        sampler.accept(id)
        s.generated += 1
        if s.firstTokenAt == nil {
            s.firstTokenAt = Date()
            metrics.observeTimeToFirstToken(s.firstTokenAt!.timeIntervalSince(job.submitted))
        }
        var lp: TokenLogprob?
        if let top = job.request.logprobs {
            let (v, best) = LogProbs.compute(logits, chosen: id, top: top)
            lp = TokenLogprob(id: id, logprob: v, top: best)
        }
        if sampler.parameters.stopIDs.contains(id) {
            job.continuation.yield(.token(id: id, text: "", logprob: lp))
            return finish(s, .stop)
        }
        let piece = (try? s.detokenizer.append(id)) ?? ""
        let visible = s.stop.feed(piece)
        job.continuation.yield(.token(id: id, text: visible, logprob: lp))
        // A complete grammar allows nothing but end-of-sequence: stop now, so a value that ends exactly at
        // max_tokens reports "stop" and only a cut one "length".
        if s.stop.stopped || sampler.grammar?.isComplete == true { return finish(s, .stop) }
        if s.generated >= job.request.parameters.maxTokens || s.model.length >= s.model.maxSequence {
            return finish(s, .length)
        }
        s.pending = id
    }

    private func finish(_ s: Slot, _ reason: FinishReason) {
        guard let job = s.job else { return }
        var tail = ""
        if reason != .stop || !s.stop.stopped {
            tail = s.stop.feed(s.detokenizer.flush()) + s.stop.flush()
        }
        let generated = s.generated
        metrics.addGeneratedTokens(generated)
        // The conversation so far goes into the shared cache; a job that opted out leaves nothing behind.
        if let cache = prefixCache {
            if job.request.cachePrompt {
                cache.insert(s.tokens[...], from: s.model.cache)
                metrics.setPrefixCache(cache.stats)
            } else {
                s.tokens = []
            }
        }
        if let first = s.firstTokenAt, generated > 1 {
            metrics.observeDecodeRate(Double(generated - 1) / max(Date().timeIntervalSince(first), 1e-9))
        }
        // Free the slot before telling the client: whoever sees `.finished` sees the slot free and the metrics
        // current, and may submit again at once.
        s.job = nil
        s.sampler = nil
        s.pending = nil
        condition.lock()
        occupied -= 1
        condition.unlock()
        metrics.setActiveSlots(slots.filter { $0.job != nil }.count)
        job.continuation.yield(.finished(reason, tail: tail, promptTokens: job.request.prompt.count, completionTokens: generated))
        job.continuation.finish()
    }
}
