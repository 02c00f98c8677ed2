import DSFormats
import DSTensor
import Foundation

/// One tensor to write, produced row by row from the loaded weights.
public struct ExportTensor {
    public var name: String
    /// Rows × cols for matrices (PyTorch order); a vector has `isVector` and `cols` values.
    public var rows: Int
    public var cols: Int
    public var isVector: Bool
    public var type: GGMLType
    /// Fills `out` (cols floats) with source row r, already in the target's row order.
    let readRow: @Sendable (Int, UnsafeMutablePointer<Float>) -> Void

    public var byteCount: Int { (isVector ? 1 : rows) * cols / type.blockSize * type.blockBytes }

    /// The tensor's bytes in `type`, rows quantized in parallel (K-quant searches cost ~100 ns a value).
    public func encode(pool: WorkerPool = .shared) -> [UInt8] {
        let rowCount = isVector ? 1 : rows
        let rowBytes = cols / type.blockSize * type.blockBytes
        var out = [UInt8](repeating: 0, count: byteCount)
        out.withUnsafeMutableBytes { dst in
            nonisolated(unsafe) let base = dst.baseAddress!
            let (n, t, read) = (cols, type, readRow)
            pool.parallelFor(rowCount, minimumChunk: 4) { range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { row in
                    for i in range {
                        read(i, row.baseAddress!)
                        Quantize.row(t, row.baseAddress!, count: n, into: base + i * rowBytes)
                    }
                }
            }
        }
        return out
    }
}

/// Writing loaded weights as GGUF (llama.cpp names, permuted q/k) or as an HF safetensors directory.
public enum ModelExport {
    /// Within each head, GGUF row 2i + j holds HF row j·(d/2) + i (llama.cpp's interleaved RoPE layout).
    static func hfRow(forGGUFRow r: Int, headDim: Int) -> Int {
        let h = r / headDim, w = r % headDim
        return h * headDim + (w % 2) * (headDim / 2) + w / 2
    }

    public static func ggufRow(forHFRow r: Int, headDim: Int) -> Int {
        let h = r / headDim, w = r % headDim
        let half = headDim / 2
        return h * headDim + 2 * (w % half) + w / half
    }

    /// A matrix export in `type` (already adjusted for the row width); `permute` maps a target row to the source row.
    static func matrix(_ name: String, _ m: WeightMatrix, _ type: GGMLType, permute: (@Sendable (Int) -> Int)? = nil) -> ExportTensor {
        ExportTensor(name: name, rows: m.rows, cols: m.cols, isVector: false, type: type) { r, out in
            m.row(permute?(r) ?? r, into: out)
        }
    }

    static func vector(_ name: String, _ v: [Float]) -> ExportTensor {
        ExportTensor(name: name, rows: 1, cols: v.count, isVector: true, type: .f32) { _, out in
            v.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: v.count) }
        }
    }

    /// The model's tensors in a format's naming and state_dict order, matrices typed by `scheme` (vectors f32);
    /// `qk` maps target rows of q/k to source rows (the RoPE layout change).
    static func tensors(_ w: ModelWeights, _ n: TensorNaming, scheme: QuantizationScheme, qk: (@Sendable (Int) -> Int)?) -> [ExportTensor] {
        let c = w.config
        return ModelTensor.all(layerCount: c.layerCount, output: !c.tieWordEmbeddings).map { t in
            switch w.data(t) {
            case .gains(let v): return vector(n.name(t), v)
            case .matrix(let x):
                let type = scheme.type(for: t, layerCount: c.layerCount, cols: x.cols)
                return matrix(n.name(t), x, type, permute: t.isRoPERotated ? qk : nil)
            }
        }
    }

    /// The model's tensors in GGUF naming, matrices in `type` (norms stay f32, as llama.cpp keeps them).
    public static func ggufTensors(_ w: ModelWeights, scheme: QuantizationScheme) -> [ExportTensor] {
        let hd = w.config.headDim
        let permute: @Sendable (Int) -> Int = { hfRow(forGGUFRow: $0, headDim: hd) }
        return tensors(w, .gguf, scheme: scheme, qk: w.ropeInterleaved ? nil : permute)
    }

    /// The `llama.*` metadata of a config.
    public static func ggufMetadata(_ c: ModelConfig, scheme: QuantizationScheme, name: String) -> [(String, GGUFWriter.Value)] {
        var m: [(String, GGUFWriter.Value)] = [
            ("general.architecture", .string("llama")), ("general.name", .string(name)),
            ("general.file_type", .uint32(scheme.fileType)),
            ("llama.vocab_size", .uint32(UInt32(c.vocabularySize))),
            ("llama.context_length", .uint32(UInt32(c.maxPositions))),
            ("llama.embedding_length", .uint32(UInt32(c.hiddenSize))),
            ("llama.block_count", .uint32(UInt32(c.layerCount))),
            ("llama.feed_forward_length", .uint32(UInt32(c.intermediateSize))),
            ("llama.rope.dimension_count", .uint32(UInt32(c.headDim))),
            ("llama.attention.head_count", .uint32(UInt32(c.headCount))),
            ("llama.attention.head_count_kv", .uint32(UInt32(c.kvHeadCount))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps)),
            ("llama.rope.freq_base", .float32(c.ropeTheta)),
        ]
        if c.headDim != c.hiddenSize / c.headCount {
            m.append(("llama.attention.key_length", .uint32(UInt32(c.headDim))))
            m.append(("llama.attention.value_length", .uint32(UInt32(c.headDim))))
        }
        if ![.f32, .f16, .bf16].contains(scheme.base) { m.append(("general.quantization_version", .uint32(2))) }
        return m
    }

    /// Writes a GGUF file; `extraMetadata` carries the tokenizer keys. Tensors are encoded one at a time.
    public static func writeGGUF(_ w: ModelWeights, type: GGMLType, to path: String,
                                 extraMetadata: [(String, GGUFWriter.Value)]) throws {
        try writeGGUF(w, scheme: .uniform(type), to: path, extraMetadata: extraMetadata)
    }

    /// Writes a GGUF file with each matrix in the type `scheme` gives it.
    public static func writeGGUF(_ w: ModelWeights, scheme: QuantizationScheme, to path: String,
                                 extraMetadata: [(String, GGUFWriter.Value)]) throws {
        let tensors = ggufTensors(w, scheme: scheme)
        var writer = GGUFWriter()
        writer.metadata = ggufMetadata(w.config, scheme: scheme, name: (path as NSString).lastPathComponent) + extraMetadata
        // Keep BOS/EOS even without a tokenizer (llama.cpp and dsllm read them from these keys).
        for (key, id) in [("tokenizer.ggml.bos_token_id", w.config.bosTokenID), ("tokenizer.ggml.eos_token_id", w.config.eosTokenID)]
        where !writer.metadata.contains(where: { $0.0 == key }) {
            if let id { writer.metadata.append((key, .uint32(UInt32(id)))) }
        }
        let sizes = tensors.map { t in
            (name: t.name, dimensions: t.isVector ? [t.cols] : [t.cols, t.rows], type: t.type, byteCount: t.byteCount)
        }
        try writer.write(to: path, tensorSizes: sizes) { tensors[$0].encode() }
    }

    /// Writes an HF directory: config.json and model.safetensors (rotate-half q/k order) in f32, f16 or bf16.
    /// transformers' `save_pretrained` default shard size (decimal, as HF counts: 5 GB = 5·10⁹ bytes).
    public static let defaultMaxShardBytes = 5_000_000_000

    /// config.json + safetensors in HF's layout: one `model.safetensors` when the weights fit in `maxShardBytes`,
    /// else `model-0000K-of-0000N.safetensors` shards + `model.safetensors.index.json`, split as `save_pretrained`
    /// splits (tensors in order, a new shard when the next one would overflow a non-empty shard). Every file is
    /// written via a temporary name and rename; the index last, so a reader never sees an index without its shards.
    public static func writeSafetensors(_ w: ModelWeights, type: GGMLType, directory: String,
                                        maxShardBytes: Int = defaultMaxShardBytes) throws {
        guard type == .f32 || type == .f16 || type == .bf16 else {
            throw FormatError(file: directory, message: "safetensors output supports f32, f16 and bf16, not \(type)")
        }
        guard maxShardBytes > 0 else { throw FormatError(file: directory, message: "maximum shard size must be positive") }
        let dtype: SafetensorsDType = type == .f32 ? .f32 : type == .f16 ? .f16 : .bf16
        let hd = w.config.headDim
        let permute: @Sendable (Int) -> Int = { ggufRow(forHFRow: $0, headDim: hd) }
        let tensors = tensors(w, .hf, scheme: .uniform(type), qk: w.ropeInterleaved ? permute : nil)
        var writer = SafetensorsWriter()
        writer.metadata = ["format": "pt"]
        // Streamed: one tensor encoded at a time (a 14 GB model is never held in memory).
        let all = tensors.map { t -> ExportTensor in var t = t; t.type = type; return t }  // one dtype, no block constraint
        let entries = all.map {
            SafetensorsWriter.Entry(name: $0.name, dtype: dtype, shape: $0.isVector ? [$0.cols] : [$0.rows, $0.cols],
                                    byteCount: $0.byteCount)
        }
        let shards = shardRanges(entries.map(\.byteCount), maxBytes: maxShardBytes)
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        if shards.count == 1 {
            try writer.write(to: path("model.safetensors"), entries: entries) { all[$0].encode() }
        } else {
            var weightMap: [(String, String)] = []
            for (k, range) in shards.enumerated() {
                let file = String(format: "model-%05d-of-%05d.safetensors", k + 1, shards.count)
                try writer.write(to: path(file), entries: Array(entries[range])) { all[range.lowerBound + $0].encode() }
                weightMap += entries[range].map { ($0.name, file) }
            }
            let total = entries.reduce(0) { $0 + $1.byteCount }
            let map: [(String, JSONOut)] = weightMap.sorted { $0.0 < $1.0 }.map { ($0.0, .string($0.1)) }
            let index = JSONOut.object([("metadata", .object([("total_size", .int(total))])), ("weight_map", .object(map))])
                .text(layout: .indented(levels: 2)) + "\n"
            try writeAtomically(Data(index.utf8), to: path("model.safetensors.index.json"))
        }
        try writeAtomically(Data(configJSON(w.config, dtype: dtype).utf8), to: path("config.json"))
    }

    /// Consecutive index ranges of `sizes`, each summing to at most `maxBytes` unless one tensor alone is larger.
    static func shardRanges(_ sizes: [Int], maxBytes: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0, bytes = 0
        for (i, size) in sizes.enumerated() {
            if i > start && bytes + size > maxBytes {
                ranges.append(start..<i)
                start = i
                bytes = 0
            }
            bytes += size
        }
        ranges.append(start..<sizes.count)
        return ranges
    }

    /// A transformers LlamaForCausalLM config.json (legacy top-level rope_theta, which every version reads).
    public static func configJSON(_ c: ModelConfig, dtype: SafetensorsDType) -> String {
        let torchDType = dtype == .f32 ? "float32" : dtype == .f16 ? "float16" : "bfloat16"
        var fields: [(String, JSONOut)] = [
            ("architectures", .array([.string("LlamaForCausalLM")])), ("model_type", .string("llama")), ("hidden_act", .string("silu")),
            ("vocab_size", .int(c.vocabularySize)), ("hidden_size", .int(c.hiddenSize)),
            ("intermediate_size", .int(c.intermediateSize)), ("num_hidden_layers", .int(c.layerCount)),
            ("num_attention_heads", .int(c.headCount)), ("num_key_value_heads", .int(c.kvHeadCount)),
            ("head_dim", .int(c.headDim)), ("max_position_embeddings", .int(c.maxPositions)),
            ("rms_norm_eps", .float(c.rmsNormEps)), ("rope_theta", .number(Double(c.ropeTheta))), ("rope_scaling", .null),
            ("tie_word_embeddings", .bool(c.tieWordEmbeddings)), ("attention_bias", .bool(false)), ("mlp_bias", .bool(false)),
            ("torch_dtype", .string(torchDType)),
        ]
        if let b = c.bosTokenID { fields.append(("bos_token_id", .int(b))) }
        if let e = c.eosTokenID { fields.append(("eos_token_id", .int(e))) }
        return JSONOut.object(fields).text(layout: .indented(levels: 1)) + "\n"
    }
}
