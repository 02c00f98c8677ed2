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

/// How matrix products are computed.
public enum InferenceNumerics: String, Sendable, CaseIterable {
    /// llama.cpp's: quantized weights repacked for the integer kernels, activations quantized as llama.cpp quantizes
    /// them (Q8_0 / Q8_K), integer sums equal to llama.cpp's. The default for GGUF files.
    case llamaCpp = "llama.cpp"
    /// f32 activations against the stored weights (the transformers-comparable path; safetensors always run this way).
    case reference
}

/// All weights of a model, mapped from safetensors or GGUF (never copied whole into the heap).
public final class ModelWeights: @unchecked Sendable {
    public let config: ModelConfig
    public let embedding: WeightMatrix
    public private(set) var layers: [LayerWeights]
    public let finalNorm: [Float]
    public private(set) var output: WeightMatrix
    /// Repacking done at load (llama.cpp numerics): matrices, bytes, seconds, and whether huge pages were granted.
    public private(set) var repack = RepackReport()
    /// `generation_config.json` of an HF folder (sampling defaults; its BOS/EOS ids are already in `config`).
    public internal(set) var generation: GenerationConfig?
    /// The numerics products run in: `.llamaCpp` once `repackForIntegerKernels` ran (the GGUF default), else `.reference`.
    public private(set) var numerics = InferenceNumerics.reference
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

    /// Loads a model from a directory (config.json + safetensors) or a .gguf file. GGUF weights are repacked for the
    /// integer kernels unless `numerics` is `.reference` (or the CPU has no AVX2).
    public static func load(path: String, numerics: InferenceNumerics = .llamaCpp, pool: WorkerPool = .shared) throws(FormatError) -> ModelWeights {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FormatError(file: path, message: "no such file or directory")
        }
        if isDir.boolValue { return try loadSafetensors(directory: path) }
        let weights = try loadGGUF(path: path)
        if numerics == .llamaCpp { weights.repackForIntegerKernels(pool: pool) }
        return weights
    }

    public struct RepackReport: Sendable {
        public var matrices = 0
        public var bytes = 0
        public var seconds = 0.0
        public var hugePages = true
    }

    /// Rewrites every repackable layer matrix and the output head into packed panels (in parallel over the pool) and
    /// drops the file's pages of each from the resident set, so memory holds one copy. The embedding keeps its
    /// file bytes (rows are looked up, not multiplied); a tied head gets its own packed copy.
    public func repackForIntegerKernels(pool: WorkerPool = .shared) {
        numerics = .llamaCpp
        guard KernelISA.current >= .avx2 else { return }
        let start = Date()
        var report = RepackReport()
        func pack(_ m: inout WeightMatrix) {
            guard m.packed == nil, PackedWeights.supports(m.type), let p = PackedWeights(m, pool: pool) else { return }
            m.packed = p
            report.matrices += 1
            report.bytes += p.byteCount
            report.hugePages = report.hugePages && p.hugePages
            if m.base != embedding.base { m.releaseSourcePages() }
        }
        for l in layers.indices {
            pack(&layers[l].wq); pack(&layers[l].wk); pack(&layers[l].wv); pack(&layers[l].wo)
            pack(&layers[l].wGate); pack(&layers[l].wUp); pack(&layers[l].wDown)
        }
        pack(&output)
        report.seconds = Date().timeIntervalSince(start)
        repack = report
    }

    /// Builds the weights from a format's names; `matrix` and `vector` fetch and shape-check one tensor.
    static func assemble(_ c: ModelConfig, _ n: TensorNaming, hasOutput: Bool, ropeInterleaved: Bool, source: String,
                         storage: [AnyObject], matrix: (String, Int, Int) throws(FormatError) -> WeightMatrix,
                         vector: (String, Int) throws(FormatError) -> [Float]) throws(FormatError) -> ModelWeights {
        func m(_ t: ModelTensor) throws(FormatError) -> WeightMatrix {
            let shape = t.shape(c)
            return try matrix(n.name(t), shape[0], shape[1])
        }
        func v(_ t: ModelTensor) throws(FormatError) -> [Float] { try vector(n.name(t), t.shape(c)[0]) }
        var layers: [LayerWeights] = []
        for l in 0..<c.layerCount {
            layers.append(LayerWeights(
                attentionNorm: try v(.layer(l, .attentionNorm)), wq: try m(.layer(l, .wq)), wk: try m(.layer(l, .wk)),
                wv: try m(.layer(l, .wv)), wo: try m(.layer(l, .wo)), ffnNorm: try v(.layer(l, .ffnNorm)),
                wGate: try m(.layer(l, .wGate)), wUp: try m(.layer(l, .wUp)), wDown: try m(.layer(l, .wDown))))
        }
        let embedding = try m(.embedding)
        let output = hasOutput ? try m(.output) : embedding
        return ModelWeights(config: c, embedding: embedding, layers: layers, finalNorm: try v(.finalNorm),
                            output: output, ropeInterleaved: ropeInterleaved, source: source, storage: storage)
    }

    /// One tensor's data: a matrix, or an RMSNorm's gains.
    public enum TensorData {
        case matrix(WeightMatrix)
        case gains([Float])
    }

    /// The data of tensor `t` (the output head of tied embeddings is the embedding matrix).
    public func data(_ t: ModelTensor) -> TensorData {
        switch t {
        case .embedding: return .matrix(embedding)
        case .finalNorm: return .gains(finalNorm)
        case .output: return .matrix(output)
        case .layer(let l, let lt):
            let w = layers[l]
            switch lt {
            case .attentionNorm: return .gains(w.attentionNorm)
            case .wq: return .matrix(w.wq)
            case .wk: return .matrix(w.wk)
            case .wv: return .matrix(w.wv)
            case .wo: return .matrix(w.wo)
            case .ffnNorm: return .gains(w.ffnNorm)
            case .wGate: return .matrix(w.wGate)
            case .wUp: return .matrix(w.wUp)
            case .wDown: return .matrix(w.wDown)
            }
        }
    }

    /// Weights that point into f32 memory owned by someone else — a training run's parameter slab, so samples
    /// during training need no copy. HF names and shapes; `owner` is kept alive with the weights.
    public static func borrowing(config c: ModelConfig, source: String, owner: AnyObject,
                                 tensor: (String) -> UnsafePointer<Float>) -> ModelWeights {
        try! assemble(c, .hf, hasOutput: true, ropeInterleaved: false, source: source, storage: [owner],
                      matrix: { name, rows, cols in WeightMatrix(type: .f32, rows: rows, cols: cols, base: UnsafeRawPointer(tensor(name))) },
                      vector: { name, n in Array(UnsafeBufferPointer(start: tensor(name), count: n)) })
    }

    // MARK: safetensors (HF names, [out, in] shapes)

    public static func loadSafetensors(directory: String) throws(FormatError) -> ModelWeights {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        var config = try ModelConfig.load(configJSON: configPath)
        let generation = try GenerationConfig.load(directory: directory)
        // generation_config.json's ids win over config.json's (the base repos' config.json says 1/2).
        if let b = generation?.bosTokenID { config.bosTokenID = b }
        if let e = generation?.eosTokenIDs.first { config.eosTokenID = e }
        // Tensors by HF name from safetensors files, or — the official DeepSeek LLM repos — PyTorch .bin shards
        // (read in place by DSFormats' restricted unpickler: no pickle code runs).
        let shape: (String) -> [Int]?, bytes: (String) -> UnsafeRawPointer?, storage: AnyObject
        let typeOf: (String) throws(FormatError) -> GGMLType
        if !SafetensorsCheckpoint.hasFiles(directory: directory), TorchCheckpoint.isCheckpoint(directory: directory) {
            let ckpt = try TorchCheckpoint(path: directory)
            shape = { ckpt.info($0)?.shape }
            bytes = { ckpt.data($0)?.baseAddress }
            typeOf = { (name: String) throws(FormatError) -> GGMLType in try ckpt.ggmlType(name) }
            storage = ckpt
        } else {
            let ckpt = try SafetensorsCheckpoint(directory: directory)
            shape = { ckpt.info($0)?.shape }
            bytes = { ckpt.data($0)?.baseAddress }
            typeOf = { (name: String) throws(FormatError) -> GGMLType in
                switch ckpt.info(name)?.dtype {
                case .f32: return .f32
                case .f16: return .f16
                case .bf16: return .bf16
                default:
                    throw FormatError(file: directory, field: name,
                                      message: "dtype \(ckpt.info(name)?.dtype.rawValue ?? "?") is not supported (F32, F16, BF16)")
                }
            }
            storage = ckpt
        }
        func checkedShape(_ name: String, _ expected: [Int]) throws(FormatError) {
            guard let s = shape(name) else { throw FormatError(file: directory, field: name, message: "tensor is missing") }
            guard s == expected else {
                throw FormatError(file: directory, field: name, message: "shape \(s) does not match the config's \(expected)")
            }
        }
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws(FormatError) -> WeightMatrix {
            try checkedShape(name, [rows, cols])
            return WeightMatrix(type: try typeOf(name), rows: rows, cols: cols, base: bytes(name)!)
        }
        func vector(_ name: String, _ n: Int) throws(FormatError) -> [Float] {
            try checkedShape(name, [n])
            let t = try typeOf(name)
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { Dequantize.row(t, bytes(name)!, count: n, into: $0.baseAddress!) }
            return out
        }
        let hasOutput = !(config.tieWordEmbeddings && shape(TensorNaming.hf.output) == nil)
        let weights = try assemble(config, .hf, hasOutput: hasOutput, ropeInterleaved: false, source: directory, storage: [storage],
                                   matrix: matrix, vector: vector)
        weights.generation = generation
        return weights
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
        return try assemble(config, .gguf, hasOutput: byName[TensorNaming.gguf.output] != nil, ropeInterleaved: true, source: path,
                            storage: [gguf], matrix: matrix, vector: vector)
    }
}
