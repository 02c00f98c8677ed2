import DSFormats
import DSTensor
import Foundation

/// One decoder layer's weights.
public struct LayerWeights: Sendable {
    public var attentionNorm: [Float]
    public var wq, wk, wv, wo: WeightMatrix
    public var ffnNorm: [Float]
    public var wGate, wUp, wDown: WeightMatrix
}

/// All weights of a model, mapped from safetensors or GGUF (never copied whole into the heap).
public final class ModelWeights: @unchecked Sendable {
    public let config: ModelConfig
    public let embedding: WeightMatrix
    public let layers: [LayerWeights]
    public let finalNorm: [Float]
    public let output: WeightMatrix
    /// GGUF files hold q/k rows permuted for llama.cpp's interleaved RoPE; HF files use rotate-half.
    public let ropeInterleaved: Bool
    public let source: String
    /// Keeps the mapped files alive as long as the matrices point into them.
    private let storage: [AnyObject]

    init(config: ModelConfig, embedding: WeightMatrix, layers: [LayerWeights], finalNorm: [Float], output: WeightMatrix,
         ropeInterleaved: Bool, source: String, storage: [AnyObject]) {
        self.config = config
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.output = output
        self.ropeInterleaved = ropeInterleaved
        self.source = source
        self.storage = storage
    }

    /// Loads a model from a directory (config.json + safetensors) or a .gguf file.
    public static func load(path: String) throws(FormatError) -> ModelWeights {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FormatError(file: path, message: "no such file or directory")
        }
        if isDir.boolValue { return try loadSafetensors(directory: path) }
        return try loadGGUF(path: path)
    }

    // MARK: safetensors (HF names, [out, in] shapes)

    public static func loadSafetensors(directory: String) throws(FormatError) -> ModelWeights {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let config = try ModelConfig.load(configJSON: configPath)
        let ckpt = try SafetensorsCheckpoint(directory: directory)
        func info(_ name: String) throws(FormatError) -> SafetensorsTensorInfo {
            guard let i = ckpt.info(name) else { throw FormatError(file: directory, field: name, message: "tensor is missing") }
            return i
        }
        func type(_ i: SafetensorsTensorInfo, _ name: String) throws(FormatError) -> GGMLType {
            switch i.dtype {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            default: throw FormatError(file: directory, field: name, message: "dtype \(i.dtype.rawValue) is not supported (F32, F16, BF16)")
            }
        }
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws(FormatError) -> WeightMatrix {
            let i = try info(name)
            guard i.shape == [rows, cols] else {
                throw FormatError(file: directory, field: name, message: "shape \(i.shape) does not match the config's [\(rows), \(cols)]")
            }
            return WeightMatrix(type: try type(i, name), rows: rows, cols: cols, base: ckpt.data(name)!.baseAddress!)
        }
        func vector(_ name: String, _ n: Int) throws(FormatError) -> [Float] {
            let i = try info(name)
            guard i.shape == [n] else {
                throw FormatError(file: directory, field: name, message: "shape \(i.shape) does not match the config's [\(n)]")
            }
            let t = try type(i, name)
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { Dequantize.row(t, ckpt.data(name)!.baseAddress!, count: n, into: $0.baseAddress!) }
            return out
        }
        let c = config
        var layers: [LayerWeights] = []
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            layers.append(LayerWeights(
                attentionNorm: try vector(p + "input_layernorm.weight", c.hiddenSize),
                wq: try matrix(p + "self_attn.q_proj.weight", c.queryDim, c.hiddenSize),
                wk: try matrix(p + "self_attn.k_proj.weight", c.kvDim, c.hiddenSize),
                wv: try matrix(p + "self_attn.v_proj.weight", c.kvDim, c.hiddenSize),
                wo: try matrix(p + "self_attn.o_proj.weight", c.hiddenSize, c.queryDim),
                ffnNorm: try vector(p + "post_attention_layernorm.weight", c.hiddenSize),
                wGate: try matrix(p + "mlp.gate_proj.weight", c.intermediateSize, c.hiddenSize),
                wUp: try matrix(p + "mlp.up_proj.weight", c.intermediateSize, c.hiddenSize),
                wDown: try matrix(p + "mlp.down_proj.weight", c.hiddenSize, c.intermediateSize)))
        }
        let embedding = try matrix("model.embed_tokens.weight", c.vocabularySize, c.hiddenSize)
        let output = c.tieWordEmbeddings && ckpt.info("lm_head.weight") == nil
            ? embedding : try matrix("lm_head.weight", c.vocabularySize, c.hiddenSize)
        return ModelWeights(config: config, embedding: embedding, layers: layers,
                            finalNorm: try vector("model.norm.weight", c.hiddenSize), output: output,
                            ropeInterleaved: false, source: directory, storage: [ckpt])
    }

    // MARK: GGUF (llama.cpp names, reversed dims, permuted q/k)

    public static func loadGGUF(path: String) throws(FormatError) -> ModelWeights {
        let gguf = try GGUFFile(path: path)
        let config = try ModelConfig.load(gguf: gguf)
        var byName: [String: GGUFTensorInfo] = [:]
        for t in gguf.tensors { byName[t.name] = t }
        func info(_ name: String) throws(FormatError) -> GGUFTensorInfo {
            guard let t = byName[name] else { throw FormatError(file: path, field: name, message: "tensor is missing") }
            guard let type = t.type, Dequantize.supports(type) else {
                throw FormatError(file: path, field: name, message: "ggml type \(t.typeID) is not supported")
            }
            return t
        }
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws(FormatError) -> WeightMatrix {
            let t = try info(name)
            guard t.dimensions == [cols, rows] else {
                throw FormatError(file: path, field: name, message: "dims \(t.dimensions) do not match the config's [\(cols), \(rows)]")
            }
            guard cols % t.type!.blockSize == 0 else {
                throw FormatError(file: path, field: name, message: "rows of \(cols) are not whole \(t.type!) blocks")
            }
            return WeightMatrix(type: t.type!, rows: rows, cols: cols, base: try gguf.data(of: t).baseAddress!)
        }
        func vector(_ name: String, _ n: Int) throws(FormatError) -> [Float] {
            let t = try info(name)
            guard t.dimensions == [n] else {
                throw FormatError(file: path, field: name, message: "dims \(t.dimensions) do not match the config's [\(n)]")
            }
            let data = try gguf.data(of: t)
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { Dequantize.row(t.type!, data.baseAddress!, count: n, into: $0.baseAddress!) }
            return out
        }
        let c = config
        var layers: [LayerWeights] = []
        for l in 0..<c.layerCount {
            let p = "blk.\(l)."
            layers.append(LayerWeights(
                attentionNorm: try vector(p + "attn_norm.weight", c.hiddenSize),
                wq: try matrix(p + "attn_q.weight", c.queryDim, c.hiddenSize),
                wk: try matrix(p + "attn_k.weight", c.kvDim, c.hiddenSize),
                wv: try matrix(p + "attn_v.weight", c.kvDim, c.hiddenSize),
                wo: try matrix(p + "attn_output.weight", c.hiddenSize, c.queryDim),
                ffnNorm: try vector(p + "ffn_norm.weight", c.hiddenSize),
                wGate: try matrix(p + "ffn_gate.weight", c.intermediateSize, c.hiddenSize),
                wUp: try matrix(p + "ffn_up.weight", c.intermediateSize, c.hiddenSize),
                wDown: try matrix(p + "ffn_down.weight", c.hiddenSize, c.intermediateSize)))
        }
        let embedding = try matrix("token_embd.weight", c.vocabularySize, c.hiddenSize)
        let output = byName["output.weight"] == nil ? embedding : try matrix("output.weight", c.vocabularySize, c.hiddenSize)
        return ModelWeights(config: config, embedding: embedding, layers: layers,
                            finalNorm: try vector("output_norm.weight", c.hiddenSize), output: output,
                            ropeInterleaved: true, source: path, storage: [gguf])
    }
}
