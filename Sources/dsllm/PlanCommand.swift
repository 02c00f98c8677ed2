import ArgumentParser
import DSModel
import DSTraining
import Foundation

/// `dsllm plan`: memory per device and communication per step of data/tensor/pipeline layouts with ZeRO-1.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Memory per device and communication per step for parallel layouts (dp × tp × pp, ZeRO-1).",
        discussion: "Without --tp/--pp every valid layout is listed, those that fit first. Formulas: docs/parallelism.md.")

    @Option(help: "Model preset — or use --config.") var preset: PaperModelPreset?
    @Option(help: "An HF config.json.") var config: String?
    @Option(help: "Devices in all.") var devices = 8
    @Option(help: "Memory per device, e.g. 80GB or 24GiB.") var deviceMemory = "80GB"
    @Option(help: "Tensor-parallel degree (default: try all).") var tp: Int?
    @Option(help: "Pipeline stages (default: try all).") var pp: Int?
    @Option(help: "ZeRO stage: 0 or 1.") var zero = 1
    @Option(help: "Sequences per micro-batch.") var microBatch = 1
    @Option(help: "Sequence length.") var seqLen = 4096
    @Option(help: "Sequences per optimizer step (default: the paper's, 2304 for 7B and 4608 for 67B).") var globalBatch: Int?
    @Option(help: "Activation recomputation.") var recompute: ParallelismPlan.Recompute = .none
    @Flag(help: "No sequence parallelism (norm/residual activations replicated across TP ranks).") var noSequenceParallel = false
    @Option(help: "Rows to show.") var top = 12

    static func bytes(_ text: String) -> Double? {
        let t = text.uppercased().replacingOccurrences(of: " ", with: "")
        for (suffix, scale) in [("GIB", 1073741824.0), ("GB", 1e9), ("TIB", 1099511627776.0), ("TB", 1e12), ("MIB", 1048576.0), ("MB", 1e6)]
        where t.hasSuffix(suffix) {
            return Double(t.dropLast(suffix.count)).map { $0 * scale }
        }
        return Double(t)
    }

    func run() throws {
        let c: ModelConfig
        if let preset {
            c = preset.config
        } else if let config {
            do { c = try ModelConfig.load(configJSON: config) } catch { throw CLIError(error.description) }
        } else {
            throw CLIError("give --preset or --config")
        }
        guard let memory = Self.bytes(deviceMemory) else { throw CLIError("--device-memory \(deviceMemory): expected e.g. 80GB") }
        guard zero == 0 || zero == 1 else { throw CLIError("--zero must be 0 or 1 (stages 2 and 3 are not modelled)") }
        var s = ParallelismPlan.Setup()
        s.devices = devices
        s.zero = zero
        s.microBatch = microBatch
        s.sequence = seqLen
        s.globalBatch = globalBatch ?? (c.layerCount >= 60 ? 4608 : 2304)
        s.recompute = recompute
        s.sequenceParallel = !noSequenceParallel
        var plans: [ParallelismPlan]
        if tp != nil || pp != nil {
            s.tensor = tp ?? 1
            s.pipeline = pp ?? 1
            let plan = ParallelismPlan(config: c, setup: s)
            if let why = plan.invalidReason { throw CLIError("dp × tp × pp = \(s.data) × \(s.tensor) × \(s.pipeline): \(why)") }
            plans = [plan]
        } else {
            plans = ParallelismPlan.layouts(config: c, base: s)
        }
        guard !plans.isEmpty else { throw CLIError("no valid layout of \(devices) devices for this model") }
        plans.sort { a, b in
            let fa = a.totalBytes <= memory, fb = b.totalBytes <= memory
            if fa != fb { return fa }
            return fa ? a.communicationBytes < b.communicationBytes : a.totalBytes < b.totalBytes
        }
        func gb(_ x: Double) -> String { String(format: "%.1f", x / 1e9) }
        print("\(preset?.rawValue ?? config!): \(String(format: "%.2f", Double(c.parameterCount) / 1e9)) B parameters, M = \(String(format: "%.3g", plans[0].flopsPerToken)) non-embedding FLOPs/token at s = \(seqLen)")
        print("\(devices) devices × \(deviceMemory), global batch \(s.globalBatch) × \(seqLen) tokens, micro-batch \(microBatch), ZeRO-\(zero), recompute \(recompute.rawValue), sequence parallel \(!noSequenceParallel)")
        print("memory per device in GB (weights bf16 | grads fp32 | optimizer fp32 master+m+v | activations); communication GB sent per device per step\n")
        print("| dp | tp | pp | params/device | weights | grads | optimizer | activations | total | fits | DP comm | TP comm | PP comm |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|")
        for p in plans.prefix(top) {
            let s = p.setup
            print("| \(s.data) | \(s.tensor) | \(s.pipeline) | \(String(format: "%.2f B", Double(p.parametersPerDevice) / 1e9)) | \(gb(p.weightBytes)) | \(gb(p.gradientBytes)) | \(gb(p.optimizerBytes)) | \(gb(p.activationBytes)) | \(gb(p.totalBytes)) | \(p.totalBytes <= memory ? "yes" : "no") | \(gb(p.dataParallelBytes)) | \(gb(p.tensorParallelBytes)) | \(gb(p.pipelineBytes)) |")
        }
        if plans.count > top { print("… \(plans.count - top) more layouts (--top N)") }
    }
}
