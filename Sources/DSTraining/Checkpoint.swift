import DSFormats
import DSModel
import Foundation

/// A training checkpoint: a folder `step-NNNNNNNN` holding the model as HF safetensors + config.json (it loads
/// in transformers and converts with `dsllm convert`), the AdamW moments (optimizer.safetensors) and state.json
/// (step, seed). The data position follows from the step (sequential order), so resume is exact. Folders are
/// written under a temporary name and renamed, in the background from the live slab, and only the last `keep` are kept.
public enum Checkpoint {
    public struct State: Codable, Sendable, Equatable {
        public var step: Int
        public var seed: UInt64
        public var sequencesPerStep: Int
        public var seq: Int
        public init(step: Int, seed: UInt64, sequencesPerStep: Int, seq: Int) {
            self.step = step
            self.seed = seed
            self.sequencesPerStep = sequencesPerStep
            self.seq = seq
        }
    }

    /// A checkpoint being written; `wait()` blocks until it is on disk.
    public final class PendingWrite: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        public func wait() {
            done.wait()
            done.signal()
        }
    }

    /// Writes the parameters and moments on a background thread straight from the live slab and optimizer — no
    /// copy, so a checkpoint costs no memory (issue 23; it used to copy parameters and both moments, 3 × 4 bytes
    /// per parameter). What keeps the snapshot consistent: `optimizer`'s next `update` waits for the write (the
    /// forward and backward of the next step only read the parameters and write gradients, so they run alongside),
    /// as does `guarding` (the trainer's own optimizer, when `optimizer` holds gathered moments under data
    /// parallelism). Returns the work item to wait on; `extraFiles` (name → bytes) go into the checkpoint too, e.g.
    /// tokenizer.json, so it is a complete model folder.
    public static func saveInBackground(_ slab: ParameterSlab, optimizer: AdamW, guarding: AdamW? = nil, state: State,
                                        runDirectory: String, keep: Int, extraFiles: [String: Data] = [:]) -> PendingWrite {
        let config = ModelExport.configJSON(slab.config, dtype: .f32)
        let pending = PendingWrite()
        optimizer.waitBeforeUpdate(for: pending)
        if let guarding, guarding !== optimizer { guarding.waitBeforeUpdate(for: pending) }
        let t = Thread {
            do {
                try write(slab, optimizer: optimizer, config: config, state: state, runDirectory: runDirectory, keep: keep,
                          extraFiles: extraFiles)
            } catch {
                FileHandle.standardError.write(Data("checkpoint at step \(state.step) failed: \(error)\n".utf8))
            }
            pending.done.signal()
        }
        t.start()
        return pending
    }

    /// The checkpoint folder: model.safetensors and optimizer.safetensors streamed from the slab's and the moments'
    /// memory (f32, HF names; moments as m.NAME / v.NAME), config.json, state.json, extra files; then renamed into
    /// place and the oldest beyond `keep` removed.
    static func write(_ slab: ParameterSlab, optimizer: AdamW, config: String, state: State, runDirectory: String, keep: Int,
                      extraFiles: [String: Data] = [:]) throws {
        let fm = FileManager.default
        let name = String(format: "step-%08d", state.step)
        let final = (runDirectory as NSString).appendingPathComponent(name)
        let temp = final + ".tmp"
        try? fm.removeItem(atPath: temp)
        try fm.createDirectory(atPath: temp, withIntermediateDirectories: true)
        func entries(_ prefix: String) -> [SafetensorsWriter.Entry] {
            slab.tensors.map { .init(name: prefix + $0.name, dtype: .f32, shape: $0.shape, byteCount: 4 * $0.count) }
        }
        func bytes(_ base: UnsafePointer<Float>, _ i: Int) -> UnsafeRawBufferPointer {
            let t = slab.tensors[i]
            return UnsafeRawBufferPointer(start: base + t.offset, count: 4 * t.count)
        }
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt"]
        try w.write(to: (temp as NSString).appendingPathComponent("model.safetensors"), entries: entries(""),
                    borrowing: { bytes(slab.values, $0) })
        let n = slab.tensors.count
        try SafetensorsWriter().write(to: (temp as NSString).appendingPathComponent("optimizer.safetensors"),
                                      entries: entries("m.") + entries("v."),
                                      borrowing: { $0 < n ? bytes(optimizer.m, $0) : bytes(optimizer.v, $0 - n) })
        try writeAtomically(Data(config.utf8), to: (temp as NSString).appendingPathComponent("config.json"))
        // Sorted keys: the same state gives the same bytes in every run (JSONEncoder's order is otherwise unspecified).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try writeAtomically(try encoder.encode(state), to: (temp as NSString).appendingPathComponent("state.json"))
        for (name, data) in extraFiles { try writeAtomically(data, to: (temp as NSString).appendingPathComponent(name)) }
        try? fm.removeItem(atPath: final)
        guard rename(temp, final) == 0 else { throw FormatError(file: final, message: "could not rename the checkpoint into place") }
        let all = list(runDirectory)
        for old in all.dropLast(max(keep, 1)) { try? fm.removeItem(atPath: old) }
    }

    /// Complete checkpoint folders of a run, oldest first.
    public static func list(_ runDirectory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.filter { $0.hasPrefix("step-") && !$0.hasSuffix(".tmp") }.sorted()
            .map { (runDirectory as NSString).appendingPathComponent($0) }
    }

    /// Loads parameters and moments into the slab and optimizer; returns the saved state.
    public static func load(_ directory: String, into slab: ParameterSlab, optimizer: AdamW?) throws -> State {
        let stateData = try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("state.json")))
        let state = try JSONDecoder().decode(State.self, from: stateData)
        let model = try SafetensorsFile(path: (directory as NSString).appendingPathComponent("model.safetensors"))
        try copy(model, prefix: "", into: slab.values, slab)
        if let optimizer {
            let moments = try SafetensorsFile(path: (directory as NSString).appendingPathComponent("optimizer.safetensors"))
            if optimizer.range == 0..<slab.count {
                try copy(moments, prefix: "m.", into: optimizer.m, slab)
                try copy(moments, prefix: "v.", into: optimizer.v, slab)
            } else {
                // A sharded optimizer (data parallel) takes its range of the full moments: resuming with any rank count works.
                let full = UnsafeMutablePointer<Float>.allocate(capacity: slab.count)
                defer { full.deallocate() }
                for (prefix, dst) in [("m.", optimizer.m), ("v.", optimizer.v)] {
                    try copy(moments, prefix: prefix, into: full, slab)
                    dst.update(from: full + optimizer.range.lowerBound, count: optimizer.range.count)
                }
            }
        }
        return state
    }

    static func copy(_ file: SafetensorsFile, prefix: String, into base: UnsafeMutablePointer<Float>, _ slab: ParameterSlab) throws {
        for t in slab.tensors {
            guard let info = file[prefix + t.name], info.dtype == .f32, info.shape == t.shape else {
                throw FormatError(file: file.path, field: prefix + t.name,
                                  message: "missing, or not f32 \(t.shape): the checkpoint does not match this model's config")
            }
            let src = file.data(of: info)
            UnsafeMutableRawPointer(base + t.offset).copyMemory(from: src.baseAddress!, byteCount: 4 * t.count)
        }
    }
}
