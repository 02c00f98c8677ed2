import ArgumentParser
import DSModel
import DSScaling
import DSTokenizer
import DSTraining

// Options that take one of a fixed set of values are parsed as these types, so `--help` lists the values
// ("(values: f32, f16, bf16; default: f32)") and the parser itself rejects anything else, naming the choices.
// The raw values are the spellings users type.

extension TrainingPrecision: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension KVCache.Precision: ExpressibleByArgument {}
extension InferenceNumerics: ExpressibleByArgument {}
extension PreTokenizerKind: ExpressibleByArgument {}
extension ParallelismPlan.Recompute: ExpressibleByArgument {}
extension ScalingLaws.DataQuality: ExpressibleByArgument {}

/// `quantize --type`: a uniform ggml type or one of llama.cpp's K mixes, by the name users type (`q4_k_m`).
extension QuantizationScheme: ExpressibleByArgument {
    public init?(argument: String) {
        guard let scheme = Self.all[argument.lowercased()] else { return nil }
        self = scheme
    }

    public var defaultValueDescription: String { name }

    public static var allValueStrings: [String] {
        // Ordered as a user reads them: float types, then the quantized ones, then the mixes.
        ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "q4_k_m", "q5_k_m"]
            .filter { all[$0] != nil }
    }
}

/// `convert --type`: convert writes float weights only (quantized types go through `quantize`).
enum FloatWeightType: String, CaseIterable, ExpressibleByArgument {
    case f32, f16, bf16

    var scheme: QuantizationScheme { QuantizationScheme.all[rawValue]! }
}

/// `--preset` of `plan` and `scaling flops`: the paper's model shapes.
enum PaperModelPreset: String, CaseIterable, ExpressibleByArgument {
    case deepseekLLM7B = "deepseek-llm-7b"
    case deepseekLLM67B = "deepseek-llm-67b"

    var config: ModelConfig { ModelConfig.presets[rawValue]! }
}
