import Foundation

/// Memory a command is about to ask for, estimated from the model shape before anything is allocated or
/// written, and compared with what the machine has. Without it, a large-but-valid shape (`--hidden 65536`)
/// ends in the runtime's "failed to allocate 829474013184 bytes" abort after files were already created.
public struct MemoryEstimate: Sendable, CustomStringConvertible {
    /// What asked for it ("training", "random-model") and its parts in bytes, largest first when printed.
    public var purpose: String
    public var parts: [(String, Int)]

    public init(purpose: String, parts: [(String, Int)]) {
        self.purpose = purpose
        self.parts = parts
    }

    public var total: Int { parts.reduce(0) { min(Int.max / 2, $0 + min($1.1, Int.max / 4)) } }

    public var description: String {
        let shown = parts.filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }.map { "\($0.0) \(MemoryEstimate.format($0.1))" }
        return "\(purpose) needs about \(MemoryEstimate.format(total)) (\(shown.joined(separator: ", ")))"
    }

    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= Double(1 << 40) { return String(format: "%.1f TiB", b / Double(1 << 40)) }
        if b >= Double(1 << 30) { return String(format: "%.1f GiB", b / Double(1 << 30)) }
        if b >= Double(1 << 20) { return String(format: "%.1f MiB", b / Double(1 << 20)) }
        return String(format: "%.0f KiB", b / 1024)
    }

    /// Pre-training (and SFT/DPO, which run the same engine): the f32 parameter slab and its gradients, AdamW's two
    /// moments (sharded across `optimizerShards` data-parallel ranks), the activations kept for the backward, the
    /// backward's scratch, the bf16 operand copies, and the byte copy of parameters + moments a background
    /// checkpoint takes (the peak while one is written).
    public static func training(_ c: ModelConfig, microBatch: Int, seq: Int, bf16: Bool, optimizerShards: Int = 1,
                                checkpoints: Bool = true, recompute: Bool = false) -> MemoryEstimate {
        // In Double: an implausible shape must give a large estimate, not an integer overflow trap.
        let n = parameters(c), rows = Double(microBatch) * Double(seq)
        let (d, qd, kd, f, v) = (Double(c.hiddenSize), Double(c.queryDim), Double(c.kvDim), Double(c.intermediateSize),
                                 Double(c.vocabularySize))
        let perLayer = rows * (5 * d + 2 * qd + 2 * kd + 3 * f + 2) + Double(microBatch * c.headCount) * Double(seq)
        // Under recompute each layer keeps its input (rows × d) and one layer's worth is refilled by the backward.
        let layers = recompute ? Double(c.layerCount) * rows * d + perLayer : Double(c.layerCount) * perLayer
        let headRows = min(256, rows)
        // The blocked attention's two [128 × seq] score blocks.
        let scratch = rows * (d + max(d, qd) + 2 * qd + 2 * kd + 3 * f) + headRows * v + 2 * min(128, Double(seq)) * Double(seq)
        let widest = rows * max(d, qd, f)
        var parts: [(String, Int)] = [
            ("parameters + gradients", bytes(8 * n)),
            ("AdamW moments", bytes(8 * n / Double(max(1, optimizerShards)))),
            ("activations", bytes(4 * (layers + rows * (2 * d + 1)))),
            ("backward scratch", bytes(4 * scratch)),
        ]
        if bf16 { parts.append(("bf16 operands", bytes(4 * (n + widest + max(widest, headRows * v))))) }
        // Checkpoints stream from the live slab and moments; with sharded moments rank 0 gathers them first.
        if checkpoints && optimizerShards > 1 { parts.append(("checkpoint moments gathered", bytes(8 * n))) }
        return MemoryEstimate(purpose: "training", parts: parts)
    }

    /// The parameter count as ParameterSlab lays it out (embeddings and head always separate), in Double.
    public static func parameters(_ c: ModelConfig) -> Double {
        let (d, qd, kd, f, v) = (Double(c.hiddenSize), Double(c.queryDim), Double(c.kvDim), Double(c.intermediateSize),
                                 Double(c.vocabularySize))
        return Double(c.layerCount) * (2 * d * qd + 2 * d * kd + 3 * d * f + 2 * d) + 2 * v * d + d
    }

    /// Bytes as an Int, saturating (a shape so large it overflows is simply too large).
    static func bytes(_ x: Double) -> Int { x >= Double(Int.max / 4) ? Int.max / 4 : Int(x.rounded(.up)) }

    /// Inference: the KV cache of `sequences` × `positions` and the weights when they are built in memory
    /// (`weightBytes`; 0 for weights mapped from a file, which the page cache holds).
    public static func inference(_ c: ModelConfig, positions: Int, sequences: Int = 1, cacheBytesPerValue: Int,
                                 weightBytes: Int = 0) -> MemoryEstimate {
        let (l, p, s) = (Double(c.layerCount), Double(positions), Double(sequences))
        let kv = 2 * l * p * Double(c.kvDim) * Double(cacheBytesPerValue) * s
        let buffers = 4 * s * (p * Double(c.headDim + 1) + 4 * Double(c.intermediateSize) + Double(c.vocabularySize))
        return MemoryEstimate(purpose: "inference", parts: [("KV cache", bytes(kv)), ("weights", weightBytes), ("buffers", bytes(buffers))])
    }

    /// A model written in memory before it goes to disk (`random-model`): `bytesPerParameter` for the tensors and
    /// as much again for the file image.
    public static func modelFile(_ c: ModelConfig, bytesPerParameter: Int) -> MemoryEstimate {
        let b = bytes(parameters(c) * Double(bytesPerParameter))
        return MemoryEstimate(purpose: "writing the model", parts: [("tensors", b), ("file image", b)])
    }

    /// Throws when the estimate exceeds the memory available now (MemAvailable, and a cgroup limit if lower).
    /// `DSLLM_SKIP_MEMORY_CHECK=1` turns the check off (e.g. with swap the estimate does not count).
    public func check(hint: String = "") throws(MemoryError) {
        guard ProcessInfo.processInfo.environment["DSLLM_SKIP_MEMORY_CHECK"] != "1" else { return }
        guard let available = MemoryEstimate.availableBytes() else { return }
        if total > available {
            throw MemoryError(description: "\(self), but this machine has \(MemoryEstimate.format(available)) available (MemAvailable)"
                              + (hint.isEmpty ? "" : "; \(hint)") + " (DSLLM_SKIP_MEMORY_CHECK=1 skips this check)")
        }
    }

    /// MemAvailable from /proc/meminfo, lowered to the cgroup's memory.max minus its usage when that is smaller.
    public static func availableBytes() -> Int? {
        guard let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        var bytes = kb * 1024
        if let maxText = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let limit = Int(maxText.trimmingCharacters(in: .whitespacesAndNewlines)) {
            let used = (try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            bytes = min(bytes, max(0, limit - used))
        }
        return bytes
    }
}

public struct MemoryError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
