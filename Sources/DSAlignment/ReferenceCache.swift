import DSFormats
import DSTraining
import Foundation

extension DPOTrainer {
    /// Where `loadOrComputeReference` found the reference log-probabilities.
    public enum ReferenceSource: Sendable, Equatable {
        case loaded
        case computed(seconds: Double)
    }

    /// The training pairs' reference log-probabilities, cached in `path` (a run's reference-logps.json:
    /// `{"pairs": [[chosen, rejected], …]}`). With `reuse` (--resume) and a cache holding one entry per pair they
    /// are read from it: the numbers the run started with, whatever checkpoint is loaded afterwards. Otherwise they
    /// are computed under `referenceSlab`, or under the current weights (so call this before loading a
    /// checkpoint), and the cache is written atomically.
    public func loadOrComputeReference(cache path: String, reuse: Bool, using referenceSlab: ParameterSlab? = nil) throws -> ReferenceSource {
        if reuse, let saved = FileManager.default.contents(atPath: path), let v = try? JSONValue.parse(Array(saved)),
           let list = v["pairs"]?.array, list.count == pairs.count {
            setReference(list.map { (chosen: $0.array?.first?.double ?? 0, rejected: $0.array?.last?.double ?? 0) })
            return .loaded
        }
        let t0 = Date()
        computeReference(using: referenceSlab)
        let seconds = Date().timeIntervalSince(t0)
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        // Swift's shortest round-trip form of each Double: reading the file back gives the same bits.
        let body = reference.map { "[\($0.chosen), \($0.rejected)]" }.joined(separator: ",\n ")
        try writeAtomically(Data("{\"pairs\": [\(body)]}\n".utf8), to: path)
        return .computed(seconds: seconds)
    }
}
