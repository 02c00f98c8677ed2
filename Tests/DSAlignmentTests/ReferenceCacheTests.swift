@testable import DSAlignment
import DSTraining
import Foundation
import Testing

/// DPO's reference-logps.json: computed once and written, read back bit for bit on --resume, recomputed when it
/// does not fit the pairs.
@Suite struct ReferenceCacheTests {
    @Test func computedOnceThenLoadedExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-refcache-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = dir + "/run/reference-logps.json"
        let refSlab = try ParameterSlab.loading(AlignmentGoldenTests.dir + "/ref")
        let (first, _) = AlignmentGoldenTests().dpoTrainer()
        let expected = first.reference
        // Without reuse (a fresh run) the numbers are computed, under --ref, and the cache (and its folder) written.
        guard case .computed = try first.loadOrComputeReference(cache: cache, reuse: false, using: refSlab) else {
            Issue.record("expected a computation")
            return
        }
        #expect(first.reference.map(\.chosen) == expected.map(\.chosen) && first.reference.map(\.rejected) == expected.map(\.rejected))
        let text = try String(contentsOfFile: cache, encoding: .utf8)
        #expect(text.hasPrefix("{\"pairs\": [[") && text.hasSuffix("]]}\n"))
        // On resume the cache is read: the same bits, whatever the weights are now.
        let (second, slab) = AlignmentGoldenTests().dpoTrainer()
        slab.initialize(seed: 5)
        #expect(try second.loadOrComputeReference(cache: cache, reuse: true) == .loaded)
        #expect(second.reference.map(\.chosen) == expected.map(\.chosen) && second.reference.map(\.rejected) == expected.map(\.rejected))
        // A cache for other pairs is not used.
        try Data("{\"pairs\": [[-1.0, -2.0]]}\n".utf8).write(to: URL(fileURLWithPath: cache))
        let (third, _) = AlignmentGoldenTests().dpoTrainer()
        guard case .computed = try third.loadOrComputeReference(cache: cache, reuse: true, using: refSlab) else {
            Issue.record("a cache of the wrong length was used")
            return
        }
        #expect(third.reference.map(\.chosen) == expected.map(\.chosen))
    }
}
