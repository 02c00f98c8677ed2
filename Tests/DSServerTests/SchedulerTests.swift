import DSGeneration
import DSModel
@testable import DSServer
import Foundation
import Testing

@Suite struct SchedulerTests {
    func scheduler(slots: Int) -> Scheduler {
        var o = Scheduler.Options()
        o.slots = slots
        o.context = 128
        o.prefillChunk = 4  // prompts span several steps, interleaved with other slots' decode steps
        let s = Scheduler(weights: RouteTests.weights, tokenizer: RouteTests.tokenizer, options: o, metrics: ServerMetrics())
        s.start()
        return s
    }

    static func ids(_ job: Job) async -> ([Int32], FinishReason?) {
        var out: [Int32] = [], reason: FinishReason?
        for await e in job.events {
            if case .token(let id, _, _) = e { out.append(id) }
            if case .finished(let r, _, _, _) = e { reason = r }
        }
        return (out, reason)
    }

    /// Five requests with different prompt lengths on two slots: joining and leaving between steps, chunked
    /// prefill and batched decode give each exactly what it gets alone.
    @Test func batchedResultsEqualSolitaryOnes() async throws {
        let s = scheduler(slots: 2)
        defer { s.shutdown() }
        let prompts: [[Int32]] = [[100000, 17464], [100000, 17464, 1843, 0, 25, 26, 27, 28, 29, 30], [5], [100000, 1, 2, 3, 4, 5, 6], [9, 9]]
        let jobs = try prompts.map { p in try s.submit(JobRequest(prompt: p, parameters: .greedy(maxTokens: 7))) }
        for (p, job) in zip(prompts, jobs) {
            let alone = TokenIterator(model: Transformer(weights: RouteTests.weights), tokenizer: RouteTests.tokenizer, prompt: p,
                                      parameters: .greedy(maxTokens: 7)).map(\.id)
            let (got, reason) = await Self.ids(job)
            #expect(got == alone, "prompt \(p)")
            #expect(reason != nil)
        }
    }

    /// A job cancelled before its first step finishes with `cancelled` and no tokens; the slot serves the next job.
    @Test func cancelledJobsFreeTheirSlot() async throws {
        var o = Scheduler.Options()
        o.slots = 1
        o.context = 128
        let s = Scheduler(weights: RouteTests.weights, tokenizer: RouteTests.tokenizer, options: o, metrics: ServerMetrics())
        defer { s.shutdown() }
        let doomed = try s.submit(JobRequest(prompt: [100000, 17464], parameters: .greedy(maxTokens: 100)))
        doomed.cancel()
        s.stepDelayForTesting = 0.005  // 110 steps take ≥ 0.5 s: the consumer sees the first token long before the last
        s.start()
        let (ids, reason) = await Self.ids(doomed)
        #expect(ids.isEmpty && reason == .cancelled)
        // Cancelled mid-generation (at its first token): it stops well before its 110 tokens.
        let long = try s.submit(JobRequest(prompt: [100000, 17464], parameters: .greedy(maxTokens: 110)))
        var seen = 0
        var finish: FinishReason?
        for await e in long.events {
            if case .token = e { seen += 1; long.cancel() }
            if case .finished(let r, _, _, _) = e { finish = r }
        }
        #expect(finish == .cancelled && seen < 110, "\(seen) tokens, \(String(describing: finish))")
        let next = try s.submit(JobRequest(prompt: [5, 6], parameters: .greedy(maxTokens: 3)))
        let (more, r) = await Self.ids(next)
        #expect(more.count <= 3 && r != nil)
        try await Task.sleep(for: .milliseconds(20))
        #expect(s.metrics.activeSlotCount == 0)
    }

    @Test func promptTooLongAndEmptyAreRefused() {
        let s = scheduler(slots: 1)
        defer { s.shutdown() }
        #expect(throws: Scheduler.SubmitError.self) { try s.submit(JobRequest(prompt: Array(repeating: 5, count: 200), parameters: .greedy(maxTokens: 1))) }
        #expect(throws: Scheduler.SubmitError.self) { try s.submit(JobRequest(prompt: [], parameters: .greedy(maxTokens: 1))) }
    }
}
