import DSModel
import Foundation

/// Memory per device and communication per step for a (data, tensor, pipeline) layout of a DeepSeek-architecture
/// model — the arithmetic behind `dsllm plan`. Formulas and their sources: docs/parallelism.md.
public struct ParallelismPlan: Sendable {
    public struct Setup: Sendable {
        public var devices = 8
        public var tensor = 1            // t: TP degree (splits heads and FFN columns)
        public var pipeline = 1          // p: PP stages (1F1B), L/p layers each
        public var zero = 1              // 0: replicated optimizer state; 1: sharded over data-parallel ranks
        public var microBatch = 1        // b: sequences per micro-batch
        public var sequence = 4096       // s
        public var globalBatch = 2304    // sequences per optimizer step (the paper's 7B: 2304, 67B: 4608)
        public var sequenceParallel = true
        public var recompute = Recompute.none
        public init() {}
        public var data: Int { devices / (tensor * pipeline) }
    }

    public enum Recompute: String, Sendable, CaseIterable {
        case none       // every activation the backward needs is kept (FlashAttention: no s×s scores)
        case full       // only each layer's input is kept; the layer is recomputed in the backward
    }

    public let config: ModelConfig
    public let setup: Setup

    public init(config: ModelConfig, setup: Setup) {
        self.config = config
        self.setup = setup
    }

    /// Why a layout cannot run at all (nil when it can).
    public var invalidReason: String? {
        let s = setup, c = config
        if s.tensor < 1 || s.pipeline < 1 || s.devices % (s.tensor * s.pipeline) != 0 { return "devices not divisible by tp × pp" }
        if c.headCount % s.tensor != 0 || c.kvHeadCount % s.tensor != 0 { return "heads not divisible by tp" }
        if c.intermediateSize % s.tensor != 0 { return "FFN not divisible by tp" }
        if s.pipeline > c.layerCount { return "more pipeline stages than layers" }
        if s.globalBatch % (s.data * s.microBatch) != 0 { return "global batch not divisible by dp × micro-batch" }
        return nil
    }

    // MARK: parameters

    /// Layers on the busiest stage (⌈L/p⌉: 95 layers over 4 stages puts 24 on some).
    public var layersPerStage: Int { (config.layerCount + setup.pipeline - 1) / setup.pipeline }

    /// Parameters of one decoder layer (projections, FFN, two RMSNorm gains).
    public var layerParameters: Int {
        let c = config
        return c.hiddenSize * c.queryDim * 2 + c.hiddenSize * c.kvDim * 2 + 3 * c.hiddenSize * c.intermediateSize + 2 * c.hiddenSize
    }

    /// Parameters held by the busiest device: L/p layers split t ways (norm gains replicated) plus the embedding
    /// (first stage) or LM head + final norm (last stage), split t ways over the vocabulary.
    public var parametersPerDevice: Int {
        let c = config, s = setup
        let matrices = layerParameters - 2 * c.hiddenSize
        let perLayer = matrices / s.tensor + 2 * c.hiddenSize
        let vocab = c.vocabularySize * c.hiddenSize / s.tensor
        let ends = s.pipeline == 1 ? (c.tieWordEmbeddings ? vocab : 2 * vocab) + c.hiddenSize : vocab + c.hiddenSize
        return layersPerStage * perLayer + ends
    }

    // MARK: memory (bytes)

    /// bf16 working weights (2 B), fp32 gradient accumulation (4 B), fp32 master + Adam m + v (12 B, ÷ dp with ZeRO-1).
    public var weightBytes: Double { 2 * Double(parametersPerDevice) }
    public var gradientBytes: Double { 4 * Double(parametersPerDevice) }
    public var optimizerBytes: Double { 12 * Double(parametersPerDevice) / Double(setup.zero >= 1 ? setup.data : 1) }

    /// Activation bytes one layer keeps for one micro-batch (bf16 values).
    public var activationBytesPerLayer: Double {
        let c = config, s = setup
        let tokens = Double(s.microBatch * s.sequence), t = Double(s.tensor)
        let h = Double(c.hiddenSize), kv = Double(c.kvDim), q = Double(c.queryDim), f = Double(c.intermediateSize)
        switch s.recompute {
        case .full:
            return 2 * tokens * h / (s.sequenceParallel ? t : 1)
        case .none:
            // Outside TP regions (split by t only with sequence parallelism): the layer input, RMSNorm 1 output,
            // the residual after attention, RMSNorm 2 output. Inside (split by t): q, k, v, attention output,
            // gate, up, SwiGLU output; plus FlashAttention's log-sum-exp (fp32, one per head and token).
            let replicated = 4 * h / (s.sequenceParallel ? t : 1)
            let split = (2 * q + 2 * kv + 3 * f) / t
            let lse = 2 * Double(c.headCount) / t  // 4 bytes = 2 bf16 slots
            return 2 * tokens * (replicated + split + lse)
        }
    }

    /// 1F1B keeps up to p micro-batches in flight on the first stage, each over L/p layers.
    public var activationBytes: Double {
        let s = setup
        let microBatches = s.globalBatch / max(1, s.data * s.microBatch)
        let inFlight = Double(min(s.pipeline, max(1, microBatches)))
        return Double(layersPerStage) * inFlight * activationBytesPerLayer
    }

    public var totalBytes: Double { weightBytes + gradientBytes + optimizerBytes + activationBytes }

    // MARK: communication (bytes sent per device per optimizer step, ring algorithms)

    /// Data parallel: ZeRO-1 = reduce-scatter of fp32 gradients + all-gather of bf16 weights; without it an
    /// all-reduce of fp32 gradients. Ring volume per device: (d − 1)/d of the buffer per pass.
    public var dataParallelBytes: Double {
        let d = Double(setup.data)
        guard d > 1 else { return 0 }
        let n = Double(parametersPerDevice), f = (d - 1) / d
        return setup.zero >= 1 ? f * (4 * n) + f * (2 * n) : 2 * f * 4 * n
    }

    /// Tensor parallel: per layer and micro-batch, 2 all-reduces forward and 2 backward of the b·s·h bf16
    /// activations (with sequence parallelism the same volume as all-gathers + reduce-scatters).
    public var tensorParallelBytes: Double {
        let s = setup, t = Double(s.tensor)
        guard t > 1 else { return 0 }
        let microBatches = Double(s.globalBatch / max(1, s.data * s.microBatch))
        let activation = 2 * Double(s.microBatch * s.sequence * config.hiddenSize)
        return 4 * 2 * (t - 1) / t * activation * Double(layersPerStage) * microBatches
    }

    /// Pipeline: each micro-batch's activations forward and their gradients backward across each stage boundary.
    public var pipelineBytes: Double {
        let s = setup
        guard s.pipeline > 1 else { return 0 }
        let microBatches = Double(s.globalBatch / max(1, s.data * s.microBatch))
        return 2 * 2 * Double(s.microBatch * s.sequence * config.hiddenSize) / Double(s.tensor) * microBatches
    }

    public var communicationBytes: Double { dataParallelBytes + tensorParallelBytes + pipelineBytes }

    /// The paper's M: non-embedding FLOPs per token, 72·L·h² + 12·L·h·s (DeepSeek LLM §3.1).
    public var flopsPerToken: Double {
        let L = Double(config.layerCount), h = Double(config.hiddenSize)
        return 72 * L * h * h + 12 * L * h * Double(setup.sequence)
    }

    /// Every valid layout of `devices` for tp ∈ {1, 2, 4, 8, …} up to the KV heads and pp up to the layers.
    public static func layouts(config: ModelConfig, base: Setup) -> [ParallelismPlan] {
        var out: [ParallelismPlan] = []
        var t = 1
        while t <= config.kvHeadCount && t <= base.devices {
            for p in 1...min(config.layerCount, 64) where base.devices % (t * p) == 0 {
                var s = base
                (s.tensor, s.pipeline) = (t, p)
                let plan = ParallelismPlan(config: config, setup: s)
                if plan.invalidReason == nil { out.append(plan) }
            }
            t *= 2
        }
        return out
    }
}
