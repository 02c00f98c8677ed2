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

    /// A job cancelled before its first step finishes with `cancelled` and no tokens; one cancelled at its first
    /// token stops there; the slot then serves the next job. The gate grants the scheduler one step at a time, so the
    /// scheduler cannot run ahead of the consumer however loaded the machine is.
    @Test func cancelledJobsFreeTheirSlot() async throws {
        var o = Scheduler.Options()
        o.slots = 1
        o.context = 128
        let s = Scheduler(weights: RouteTests.weights, tokenizer: RouteTests.tokenizer, options: o, metrics: ServerMetrics())
        let gate = StepGate()
        gate.install(on: s)
        defer {
            gate.openForGood()
            s.shutdown()
        }
        let doomed = try s.submit(JobRequest(prompt: [100000, 17464], parameters: .greedy(maxTokens: 100)))
        doomed.cancel()
        s.start()
        gate.allow()  // step 1 finds it cancelled
        let (ids, reason) = await Self.ids(doomed)
        #expect(ids.isEmpty && reason == .cancelled)

        let long = try s.submit(JobRequest(prompt: [100000, 17464], parameters: .greedy(maxTokens: 110)))
        gate.allow()  // prefill + the first token
        var seen = 0
        var finish: FinishReason?
        for await e in long.events {
            if case .token = e {
                seen += 1
                long.cancel()
                gate.allow()  // the step that finds it cancelled
            }
            if case .finished(let r, _, _, _) = e { finish = r }
        }
        #expect(finish == .cancelled && seen == 1, "\(seen) tokens, \(String(describing: finish))")

        gate.openForGood()
        let next = try s.submit(JobRequest(prompt: [5, 6], parameters: .greedy(maxTokens: 3)))
        let (more, r) = await Self.ids(next)
        #expect(!more.isEmpty && more.count <= 3 && r != nil)
        // The slot is freed before `.finished` is sent, so this holds the moment the consumer sees the end.
        #expect(s.metrics.activeSlotCount == 0)
    }

    /// Admission counts slots + queue: a request with more jobs than that is refused as impossible (400 upstream),
    /// one that only has to wait for room is refused as busy (503), and a request is admitted whole or not at all.
    @Test func admissionSeparatesNeverFitsFromBusy() throws {
        var o = Scheduler.Options()
        o.slots = 1
        o.queueLimit = 2
        o.context = 128
        // Not started: nothing leaves the queue, so what is admitted is exactly what the test submits.
        let s = Scheduler(weights: RouteTests.weights, tokenizer: RouteTests.tokenizer, options: o, metrics: ServerMetrics())
        defer { s.shutdown() }
        let one = JobRequest(prompt: [5, 6], parameters: .greedy(maxTokens: 1))
        #expect(s.capacity == 3)
        do {
            _ = try s.submit(Array(repeating: one, count: 4))
            Issue.record("4 jobs admitted into a capacity of 3")
        } catch {
            guard case .neverFits(4, 3) = error else { Issue.record("\(error)"); return }
        }
        #expect(try s.submit(Array(repeating: one, count: 2)).count == 2)
        do {
            _ = try s.submit(Array(repeating: one, count: 2))
            Issue.record("2 more jobs admitted with room for 1")
        } catch {
            guard case .queueFull = error else { Issue.record("\(error)"); return }
        }
        #expect(try s.submit(one).request.prompt == [5, 6])  // the refused pair took nothing
        #expect(throws: Scheduler.SubmitError.self) { try s.submit(one) }
    }

    @Test func promptTooLongAndEmptyAreRefused() {
        let s = scheduler(slots: 1)
        defer { s.shutdown() }
        #expect(throws: Scheduler.SubmitError.self) { try s.submit(JobRequest(prompt: Array(repeating: 5, count: 200), parameters: .greedy(maxTokens: 1))) }
        #expect(throws: Scheduler.SubmitError.self) { try s.submit(JobRequest(prompt: [], parameters: .greedy(maxTokens: 1))) }
    }
}

/// Lets a scheduler take only the steps a test grants: before each step its thread waits for a permit (or for the
/// gate to open for good). One deadline, 60 s after the gate is made, bounds all the waiting: after it the gate is
/// open, so a broken test fails on its expectations, never hangs.
final class StepGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var permits = 0
    private var isOpen = false
    // Only a guard against a hang: generous, because the suite runs its tests in parallel on 2 (possibly loaded)
    // cores and a gated test can wait a minute before its turn. A gate that lapsed would let the scheduler run ahead.
    private let deadline = Date().addingTimeInterval(600)

    func install(on scheduler: Scheduler) { scheduler.setBeforeStepForTesting { _ in self.waitForPermit() } }

    func allow(_ steps: Int = 1) {
        condition.lock()
        permits += steps
        condition.broadcast()
        condition.unlock()
    }

    func openForGood() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    private func waitForPermit() {
        condition.lock()
        defer { condition.unlock() }
        while !isOpen && permits == 0 {
            if !condition.wait(until: deadline) { return }
        }
        if permits > 0 { permits -= 1 }
    }
}
