import DSGeneration
import DSModel
import DSTokenizer
@testable import DSServer
import Foundation
import TestSupport
import Testing

/// Issue 21's determinism promise, on a Q8_0 GGUF in llama.cpp numerics (the serving path): at temperature 0 or
/// with a seed, a request's tokens and log-probabilities — bit for bit — do not depend on the other requests in its
/// batch, on whether its prefix came from the cache (prompt or earlier reply), or on the thread count. The packed
/// kernels give every row the same reduction order whatever the batch, and every attention kernel the same order
/// per row (Attention+Row.swift); cached blocks are the computed bits.
@Suite(.serialized) struct DeterminismTests {
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-determinism-\(getpid())").path
        try! RandomModel.write(RandomModel.tinyConfig(vocabularySize: 102400, maxPositions: 512), to: dir, seed: 5, scale: 0.3)
        let gguf = dir + "/model-q8_0.gguf"
        try! ModelExport.writeGGUF(try! ModelWeights.load(path: dir), type: .q8_0, to: gguf, extraMetadata: [])
        return try! ModelWeights.load(path: gguf)  // llama.cpp numerics: repacked, f16 KV cache
    }()

    struct Output: Equatable {
        var ids: [Int32] = []
        var logprobs: [UInt32] = []  // bit patterns: equal means identical, not close
        var top: [[Int32]] = []
    }

    static func run(_ job: Job) async -> Output {
        var o = Output()
        for await e in job.events {
            if case .token(let id, _, let lp) = e {
                o.ids.append(id)
                if let lp {
                    o.logprobs.append(lp.logprob.bitPattern)
                    o.top.append(lp.top.map(\.0))
                    o.logprobs += lp.top.map(\.1.bitPattern)
                }
            }
        }
        return o
    }

    func scheduler(slots: Int, cache: Bool, threads: Int? = nil, metrics: ServerMetrics = ServerMetrics()) -> Scheduler {
        var o = Scheduler.Options()
        o.slots = slots
        o.context = 512
        o.prefillChunk = 48
        o.queueLimit = 256  // the replay test submits 200 at once
        o.threads = threads
        if cache {
            var p = PrefixCache.Options()
            p.blockTokens = 32
            o.prefixCache = p
        } else {
            o.prefixCache = nil
        }
        let s = Scheduler(weights: Self.weights, tokenizer: RouteTests.tokenizer, options: o, metrics: metrics)
        s.start()
        return s
    }

    static func request(_ prompt: [Int32], maxTokens: Int = 10, seed: UInt64? = nil) -> JobRequest {
        var p = GenerateParameters.greedy(maxTokens: maxTokens)
        if let seed {
            p.temperature = 0.9
            p.seed = seed
        }
        var r = JobRequest(prompt: prompt, parameters: p)
        r.logprobs = 3
        return r
    }

    static func prompt(_ n: Int, salt: Int) -> [Int32] { (0..<n).map { Int32((($0 + 1) * 7919 + salt * 104729) % 99000) } }

    @Test func outputDoesNotDependOnBatchCacheOrThreads() async throws {
        try await KernelLevelLock.hold {
            let subject = Self.request(Self.prompt(150, salt: 1))
            let seeded = Self.request(Self.prompt(90, salt: 2), seed: 77)
            func alone(_ r: JobRequest, threads: Int? = nil) async throws -> Output {
                let s = scheduler(slots: 1, cache: false, threads: threads)
                defer { s.shutdown() }
                return await Self.run(try s.submit(r))
            }
            let reference = try await alone(subject), seededReference = try await alone(seeded)
            #expect(reference.ids.count == 10 && reference.logprobs.count == 40)
            #expect(try await alone(subject, threads: 1) == reference, "thread count")

            // In a batch of 8 mixed requests (prompt lengths 1–300, greedy and sampled) on 4 slots.
            let s = scheduler(slots: 4, cache: false)
            var mix = [Self.request(Self.prompt(300, salt: 3), maxTokens: 6), Self.request([5], maxTokens: 12),
                       Self.request(Self.prompt(40, salt: 4), seed: 3), Self.request(Self.prompt(200, salt: 5), maxTokens: 4),
                       Self.request(Self.prompt(7, salt: 6), seed: 9), Self.request(Self.prompt(120, salt: 7))]
            mix.insert(subject, at: 3)
            mix.insert(seeded, at: 6)
            let jobs = try s.submit(mix)
            var outputs: [Output] = []
            for j in jobs { outputs.append(await Self.run(j)) }
            s.shutdown()
            #expect(outputs[3] == reference, "batched")
            #expect(outputs[6] == seededReference, "batched, seeded")

            // From the cache: a request sharing 100 tokens runs first, then the subject reuses its blocks (from
            // another slot) — and a second time its own slot's tokens.
            let metrics = ServerMetrics()
            let c = scheduler(slots: 2, cache: true, metrics: metrics)
            defer { c.shutdown() }
            let warm = Self.request(Array(subject.prompt[0..<100]) + Self.prompt(30, salt: 8))
            _ = await Self.run(try c.submit(warm))
            let busy = try c.submit(Self.request(Self.prompt(60, salt: 9), maxTokens: 40))  // keeps the warm slot busy or not: either way
            let fromCache = await Self.run(try c.submit(subject))
            _ = await Self.run(busy)
            #expect(fromCache == reference, "prefix from the cache")
            #expect(metrics.reusedPromptTokenCount >= 96, "\(metrics.reusedPromptTokenCount) tokens reused")
            let before = metrics.reusedPromptTokenCount
            #expect(await Self.run(try c.submit(subject)) == reference, "whole prompt from the slot")
            #expect(metrics.reusedPromptTokenCount - before == 149)
        }
    }

    /// Issue 21's replay goal: 200 mixed requests (prompts of 1–120 tokens, a quarter sharing a 70-token prefix,
    /// greedy and seeded, 1–8 tokens) submitted at once to 4 slots with the prefix cache on, then each replayed alone
    /// on one slot without a cache: no token and no log-probability differs.
    @Test func twoHundredConcurrentRequestsReplayAlone() async throws {
        try await KernelLevelLock.hold {
            var rng = SeededRandom(seed: 21)
            let shared = Self.prompt(70, salt: 99)
            let requests: [JobRequest] = (0..<200).map { i in
                let length = Int(rng.next() % 120) + 1
                var prompt = Self.prompt(length, salt: 1000 + i)
                if i % 4 == 0 { prompt = shared + prompt.prefix(length / 2) }
                return Self.request(prompt, maxTokens: Int(rng.next() % 8) + 1, seed: i % 2 == 0 ? UInt64(i) : nil)
            }
            let metrics = ServerMetrics()
            let busy = scheduler(slots: 4, cache: true, metrics: metrics)
            let jobs = try busy.submit(requests)
            var together: [Output] = []
            for j in jobs { together.append(await Self.run(j)) }
            busy.shutdown()
            #expect(metrics.reusedPromptTokenCount > 0, "the shared prefix came from the cache")
            let quiet = scheduler(slots: 1, cache: false)
            defer { quiet.shutdown() }
            var differing: [Int] = []
            for (i, r) in requests.enumerated() where await Self.run(try quiet.submit(r)) != together[i] { differing.append(i) }
            #expect(together.allSatisfy { !$0.ids.isEmpty })
            #expect(differing.isEmpty, "requests whose replay alone differs: \(differing)")
        }
    }

    /// Turn N+1 of a chat renders as turn N's tokens plus the reply and the new message, so the next turn
    /// prefills only the new part.
    @Test func nextChatTurnReusesThePreviousTurn() async throws {
        try await KernelLevelLock.hold {
            let tok = RouteTests.tokenizer
            var messages = [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: "Name three rivers in Europe.")]
            let metrics = ServerMetrics()
            let s = scheduler(slots: 2, cache: true, metrics: metrics)
            defer { s.shutdown() }
            let turn1 = tok.encodeChat(messages)
            let reply = await Self.run(try s.submit(Self.request(turn1, maxTokens: 12)))
            messages.append(ChatMessage(role: .assistant, content: try tok.decode(reply.ids)))
            messages.append(ChatMessage(role: .user, content: "And two in Asia?"))
            let turn2 = tok.encodeChat(messages)
            #expect(Array(turn2.prefix(turn1.count)) == turn1, "turn 2 extends turn 1's tokens")
            let before = metrics.reusedPromptTokenCount
            let warm = await Self.run(try s.submit(Self.request(turn2, maxTokens: 4)))
            // The reused part includes turn 1's reply, whose keys and values were computed as decode steps; a cold
            // run prefills them as prompt: the same bits either way.
            let cold = scheduler(slots: 1, cache: false)
            defer { cold.shutdown() }
            #expect(await Self.run(try cold.submit(Self.request(turn2, maxTokens: 4))) == warm, "turn 2 from the cache vs cold")
            #expect(metrics.reusedPromptTokenCount - before >= turn1.count, "reused \(metrics.reusedPromptTokenCount - before) of \(turn2.count)")
            // Opting out: nothing reused, and nothing left behind for the next request.
            var optOut = Self.request(turn2, maxTokens: 2)
            optOut.cachePrompt = false
            let b2 = metrics.reusedPromptTokenCount
            _ = await Self.run(try s.submit(optOut))
            #expect(metrics.reusedPromptTokenCount == b2)
            #expect(metrics.render().contains("dsllm_prefix_cache_hits_total"))
        }
    }
}
