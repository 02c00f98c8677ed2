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
        func matrix(_ name: String, _ rows: Int, _ cols: Int) -> SafetensorsWriter.Tensor {
            var data = [UInt8](repeating: 0, count: rows * cols * 2)
            for i in 0..<(rows * cols) {
                let b = BFloat16.fromFloat(nextUnit() * scale)
                data[2 * i] = UInt8(b & 0xFF)
                data[2 * i + 1] = UInt8(b >> 8)
            }
            return .init(name: name, dtype: .bf16, shape: [rows, cols], data: data)
        }
        func ones(_ name: String, _ n: Int) -> SafetensorsWriter.Tensor {
            .init(name: name, dtype: .bf16, shape: [n], data: Array(repeating: [0x80, 0x3F], count: n).flatMap { $0 })
        }
        var writer = SafetensorsWriter()
        writer.tensors = [matrix("model.embed_tokens.weight", c.vocabularySize, c.hiddenSize), ones("model.norm.weight", c.hiddenSize)]
        if !c.tieWordEmbeddings { writer.tensors.append(matrix("lm_head.weight", c.vocabularySize, c.hiddenSize)) }
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            writer.tensors += [ones(p + "input_layernorm.weight", c.hiddenSize), ones(p + "post_attention_layernorm.weight", c.hiddenSize),
                               matrix(p + "self_attn.q_proj.weight", c.queryDim, c.hiddenSize),
                               matrix(p + "self_attn.k_proj.weight", c.kvDim, c.hiddenSize),
                               matrix(p + "self_attn.v_proj.weight", c.kvDim, c.hiddenSize),
                               matrix(p + "self_attn.o_proj.weight", c.hiddenSize, c.queryDim),
                               matrix(p + "mlp.gate_proj.weight", c.intermediateSize, c.hiddenSize),
                               matrix(p + "mlp.up_proj.weight", c.intermediateSize, c.hiddenSize),
                               matrix(p + "mlp.down_proj.weight", c.hiddenSize, c.intermediateSize)]
        }
        try writer.write(to: (directory as NSString).appendingPathComponent("model.safetensors"))
        try writeAtomically(Data(ModelExport.configJSON(c, dtype: .bf16).utf8),
                            to: (directory as NSString).appendingPathComponent("config.json"))
    }
}
