import DSFormats
import DSModel
import DSTensor

extension ParameterSlab {
    /// Copies a loaded model (HF safetensors or GGUF, any stored type) into the slab after checking every shape.
    /// GGUF stores q/k rows in llama.cpp's interleaved RoPE order; training uses transformers' rotate-half order.
    public func load(_ w: ModelWeights) throws(FormatError) {
        let (a, b) = (w.config, config)
        let have = [a.vocabularySize, a.hiddenSize, a.intermediateSize, a.layerCount, a.headCount, a.kvHeadCount]
        let want = [b.vocabularySize, b.hiddenSize, b.intermediateSize, b.layerCount, b.headCount, b.kvHeadCount]
        guard have == want else {
            throw FormatError(file: w.source, message: "shape (vocab, hidden, ffn, layers, heads, kv heads) \(have) does not match the training config's \(want)")
        }
        let hd = w.config.headDim
        for t in ModelTensor.all(layerCount: config.layerCount) {
            let dst = parameters[t]
            switch w.data(t) {
            case .gains(let g): dst.update(from: g, count: g.count)
            case .matrix(let m):
                let permuted = t.isRoPERotated && w.ropeInterleaved
                for r in 0..<m.rows { m.row(permuted ? ModelExport.ggufRow(forHFRow: r, headDim: hd) : r, into: dst + r * m.cols) }
            }
        }
    }

    /// A slab holding the model at `path` (HF directory or GGUF).
    public static func loading(_ path: String) throws(FormatError) -> ParameterSlab {
        let w = try ModelWeights.load(path: path, numerics: .reference)
        let slab = ParameterSlab(config: w.config)
        try slab.load(w)
        return slab
    }
}
