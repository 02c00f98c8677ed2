import DSFormats
import DSTensor
import Foundation

/// A DeepSeek-architecture model with seeded random weights, written as an HF directory (config.json +
/// bf16 model.safetensors). Tests, the demo and the server's self-checks use it until dsllm ships a
/// trained model; the same seed gives the same bytes on every machine.
public enum RandomModel {
    /// A small config over a given vocabulary (the DeepSeek tokenizer's 102400 by default).
    public static func tinyConfig(vocabularySize: Int = 102400, maxPositions: Int = 512) -> ModelConfig {
        ModelConfig(vocabularySize: vocabularySize, hiddenSize: 128, intermediateSize: 352, layerCount: 2,
                    headCount: 4, kvHeadCount: 2, maxPositions: maxPositions, bosTokenID: 100000, eosTokenID: 100001)
    }

    /// Writes the model into `directory` (created if needed); weights uniform in ±scale.
    public static func write(_ c: ModelConfig, to directory: String, seed: UInt64 = 1, scale: Float = 0.1) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var bits = SplitMix64(seed: seed)
        func nextUnit() -> Float { Float(bits.next() >> 40) * 0x1p-23 - 1 }  // [-1, 1)
        let hf = TensorNaming.hf
        func matrix(_ t: ModelTensor) -> SafetensorsWriter.Tensor {
            let shape = t.shape(c), count = shape[0] * shape[1]
            var data = [UInt8](repeating: 0, count: count * 2)
            for i in 0..<count {
                let b = BFloat16.fromFloat(nextUnit() * scale)
                data[2 * i] = UInt8(b & 0xFF)
                data[2 * i + 1] = UInt8(b >> 8)
            }
            return .init(name: hf.name(t), dtype: .bf16, shape: shape, data: data)
        }
        func ones(_ t: ModelTensor) -> SafetensorsWriter.Tensor {
            let n = t.shape(c)[0]
            return .init(name: hf.name(t), dtype: .bf16, shape: [n], data: Array(repeating: [0x80, 0x3F], count: n).flatMap { $0 })
        }
        // This order (not state_dict's) decides which random numbers each tensor gets: kept for the same bytes per seed.
        var writer = SafetensorsWriter()
        writer.tensors = [matrix(.embedding), ones(.finalNorm)]
        if !c.tieWordEmbeddings { writer.tensors.append(matrix(.output)) }
        for l in 0..<c.layerCount {
            writer.tensors += [ones(.layer(l, .attentionNorm)), ones(.layer(l, .ffnNorm))]
                + [LayerTensor.wq, .wk, .wv, .wo, .wGate, .wUp, .wDown].map { matrix(.layer(l, $0)) }
        }
        try writer.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
        try writeAtomically(Data(ModelExport.configJSON(c, dtype: .bf16).utf8),
                            to: (directory as NSString).appendingPathComponent("config.json"))
    }
}
