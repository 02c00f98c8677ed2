import DSFormats
import DSTensor

/// Which ggml type each matrix of a model is written in: one type for all, or one of llama.cpp's K-quant
/// mixes (`q4_k_m`, `q5_k_m`), which spend more bits where quantization error hurts most.
public struct QuantizationScheme: Sendable, Equatable {
    /// The name users type (`q8_0`, `q4_k`, `q4_k_m`, ...).
    public let name: String
    /// The type of most matrices.
    public let base: GGMLType
    /// llama.cpp's mix: output → Q6_K; attn_v and ffn_down → Q6_K in the layers `useMoreBits` picks.
    public let isMix: Bool
    /// `general.file_type` (llama.cpp's LLAMA_FTYPE_*).
    public let fileType: UInt32

    public static func uniform(_ type: GGMLType) -> QuantizationScheme {
        let fileTypes: [GGMLType: UInt32] = [.f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .q5_0: 8, .q5_1: 9,
                                             .q4_K: 14, .q5_K: 16, .q6_K: 18, .bf16: 32]
        return QuantizationScheme(name: "\(type)".lowercased(), base: type, isMix: false, fileType: fileTypes[type] ?? 0)
    }

    /// Every scheme by name: the uniform types dsllm can write, and the two K mixes.
    public static let all: [String: QuantizationScheme] = {
        var s: [String: QuantizationScheme] = [:]
        for (n, t) in [("f32", GGMLType.f32), ("f16", .f16), ("bf16", .bf16), ("q8_0", .q8_0), ("q4_0", .q4_0),
                       ("q4_1", .q4_1), ("q5_0", .q5_0), ("q5_1", .q5_1), ("q4_k", .q4_K), ("q5_k", .q5_K), ("q6_k", .q6_K)] {
            s[n] = .uniform(t)
        }
        s["q4_k_m"] = QuantizationScheme(name: "q4_k_m", base: .q4_K, isMix: true, fileType: 15)
        s["q5_k_m"] = QuantizationScheme(name: "q5_k_m", base: .q5_K, isMix: true, fileType: 17)
        return s
    }()

    /// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between.
    static func useMoreBits(_ layer: Int, _ count: Int) -> Bool {
        layer < count / 8 || layer >= 7 * count / 8 || (layer - count / 8) % 3 == 2
    }

    /// The type for one matrix of a model of `layerCount` layers.
    func type(for tensor: ModelTensor, layerCount: Int, cols: Int) -> GGMLType {
        var t = base
        if isMix {
            switch tensor {
            case .output: t = .q6_K
            case .layer(let l, .wv), .layer(let l, .wDown): if Self.useMoreBits(l, layerCount) { t = .q6_K }
            default: break
            }
        }
        return Self.fallback(t, cols: cols)
    }

    /// A row that is not whole blocks of `t` gets llama.cpp's fallback (K-quants need 256-wide rows), or f16.
    static func fallback(_ t: GGMLType, cols: Int) -> GGMLType {
        if cols % t.blockSize == 0 { return t }
        let next: [GGMLType: GGMLType] = [.q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0]
        if let n = next[t], cols % n.blockSize == 0 { return n }
        return .f16
    }
}
