import DSFormats
@testable import DSModel
import DSTensor
import Foundation
import Testing

/// A tiny GQA model (all dims multiples of 256) as GGUF, checked against llama.cpp and transformers
/// (tools/golden/make_gguf_golden.py). The legacy-type files are not committed: dsllm quantizes the committed
/// F32 file itself and must produce byte-identical tensors (llama.cpp's and gguf-py's quantizers agree).
/// The K-quant files come from llama.cpp's quantizer.
@Suite struct LlamaCppGGUFTests {
    struct Golden: Decodable {
        struct PromptLogits: Decodable { var logits: [[Float]]; var greedy: [Int32]; var greedy_min_margin: Float }
        struct Dequant: Decodable { var last_logits: [Float]; var greedy: [Int32]; var greedy_min_margin: Float }
        struct HF: Decodable { var logits: [[[Float]]]; var greedy: [[Int32]]; var greedy_min_margin: [Float] }
        struct TypeCase: Decodable {
            var file: String
            var committed: Bool
            var tensor_sha256: [String: String]
            var tensor_types: [String: String]
            var llama_cpp: [PromptLogits]
            var hf_dequant: [Dequant]?
        }
        var prompts: [[Int32]]
        var hf_f32: HF
        var types: [String: TypeCase]
    }

    static let directory = TransformersGoldenTests.directory.appendingPathComponent("gguf-tiny")
    static let golden: Golden = try! JSONDecoder().decode(
        Golden.self, from: Data(contentsOf: directory.appendingPathComponent("golden.json")))

    static func relative(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map { abs($0) }.max()!
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    /// Mean negative log-likelihood of ids[1...] under the logits rows (Double).
    static func meanNLL(_ rows: [[Float]], _ ids: [Int32]) -> Double {
        var total = 0.0
        for t in 0..<(ids.count - 1) {
            let row = rows[t].map(Double.init), m = row.max()!
            total += log(row.map { exp($0 - m) }.reduce(0, +)) + m - row[Int(ids[t + 1])]
        }
        return total / Double(ids.count - 1)
    }

    func run(_ weights: ModelWeights, _ ids: [Int32]) -> [[Float]] {
        // The golden's llama.cpp ran with an F32 KV cache (type_k = type_v = F32); ours defaults to f16 for GGUF.
        let t = Transformer(weights: weights, cache: .f32)
        return ids.enumerated().map { Array(t.forward(token: $1, position: $0)) }
    }

    @Test func f32MatchesLlamaCppAndTransformers() throws {
        let w = try ModelWeights.load(path: Self.directory.appendingPathComponent("model-f32.gguf").path)
        #expect(w.ropeInterleaved && w.config.kvHeadCount == 2)
        let g = Self.golden
        for (p, ids) in g.prompts.enumerated() {
            let ours = run(w, ids)
            for (t, row) in ours.enumerated() {
                #expect(Self.relative(row, g.types["F32"]!.llama_cpp[p].logits[t]) < 1e-4)
                #expect(Self.relative(row, g.hf_f32.logits[p][t]) < 1e-4)
            }
            #expect(Transformer(weights: w).greedy(prompt: ids, count: 8) == g.hf_f32.greedy[p])
        }
    }

    @Test(arguments: ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"])
    func quantizingTheF32FileReproducesLlamaCppBytes(_ name: String) throws {
        let types: [String: GGMLType] = ["F16": .f16, "BF16": .bf16, "Q8_0": .q8_0, "Q4_0": .q4_0, "Q4_1": .q4_1,
                                         "Q5_0": .q5_0, "Q5_1": .q5_1]
        let source = try ModelWeights.load(path: Self.directory.appendingPathComponent("model-f32.gguf").path)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-q-\(getpid())-\(name).gguf").path
        try ModelExport.writeGGUF(source, type: types[name]!, to: out, extraMetadata: [])
        let file = try GGUFFile(path: out)
        let expected = Self.golden.types[name]!
        for t in file.tensors {
            #expect(sha256Hex(try file.data(of: t)) == expected.tensor_sha256[t.name], "\(name): tensor \(t.name)")
        }
        try checkAgainstReferences(name, path: out)
    }

    /// dsllm's K-quant writer against llama-quantize's files: `quantize --type q6_k` reproduces llama.cpp's
    /// Q6_K file tensor for tensor, and every tensor of its Q4_K_S / Q5_K_S mixes, quantized by dsllm to the
    /// type llama.cpp chose for it, has the same bytes.
    @Test func kQuantWritingReproducesLlamaCppBytes() throws {
        let source = try ModelWeights.load(path: Self.directory.appendingPathComponent("model-f32.gguf").path)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-q6k-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try ModelExport.writeGGUF(source, scheme: QuantizationScheme.all["q6_k"]!, to: out, extraMetadata: [])
        let written = try GGUFFile(path: out)
        for t in written.tensors {
            #expect(sha256Hex(try written.data(of: t)) == Self.golden.types["Q6_K"]!.tensor_sha256[t.name], "Q6_K: \(t.name)")
        }
        let f32 = try GGUFFile(path: Self.directory.appendingPathComponent("model-f32.gguf").path)
        let names: [String: GGMLType] = ["Q4_K": .q4_K, "Q5_K": .q5_K, "Q6_K": .q6_K, "F32": .f32]
        for mix in ["Q4_K_S", "Q5_K_S"] {
            let c = Self.golden.types[mix]!
            for t in f32.tensors {
                let type = try #require(names[c.tensor_types[t.name] ?? ""], "\(mix): \(t.name) has type \(c.tensor_types[t.name] ?? "?")")
                let n = t.elementCount
                var bytes = [UInt8](repeating: 0, count: n / type.blockSize * type.blockBytes)
                let src = try f32.data(of: t)
                let x = Array(src.bindMemory(to: Float.self))
                bytes.withUnsafeMutableBytes { Quantize.row(type, x, count: n, into: $0.baseAddress!) }
                #expect(bytes.withUnsafeBytes { sha256Hex($0) } == c.tensor_sha256[t.name], "\(mix): \(t.name) as \(type)")
            }
        }
    }

    @Test(arguments: ["Q4_K_S", "Q5_K_S", "Q6_K"])
    func llamaCppKQuantFiles(_ name: String) throws {
        let c = Self.golden.types[name]!
        let path = Self.directory.appendingPathComponent(c.file).path
        #expect(try ModelWeights.load(path: path).layers[0].wq.type != .f32)
        try checkAgainstReferences(name, path: path)
    }

    /// Reference numerics (f32 activations) tight against transformers on the same dequantized weights; llama.cpp
    /// numerics (activations quantized as ggml does) against llama.cpp — tight (1e-4, at every ISA level) where
    /// every matrix of the file has packed kernels, loose (5e-2) where some still run with f32 activations.
    func checkAgainstReferences(_ name: String, path: String) throws {
        let c = Self.golden.types[name]!
        let reference = try ModelWeights.load(path: path, numerics: .reference)
        let parity = try ModelWeights.load(path: path)
        let allPacked = parity.layers.allSatisfy { l in [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown].allSatisfy { $0.packed != nil } }
            && parity.output.packed != nil
        // Every type of these files (F16, BF16, the legacy quants, the K-quants) has packed kernels.
        #expect(allPacked || KernelISA.detected < .avx2, "\(name): a matrix was left unpacked")
        for (p, ids) in Self.golden.prompts.enumerated() {
            let ours = run(reference, ids)
            if let d = c.hf_dequant?[p] {
                #expect(Self.relative(ours.last!, d.last_logits) < 1e-4, "\(name) vs transformers on dequantized weights")
                if d.greedy_min_margin > 1e-3 {
                    #expect(Transformer(weights: reference).greedy(prompt: ids, count: 8) == d.greedy, "\(name) greedy")
                }
            }
            let levels = allPacked ? KernelISA.available.filter { $0 >= .avx2 } : [KernelISA.current]
            for level in levels {
                let saved = KernelISA.current
                KernelISA.current = level
                defer { KernelISA.current = saved }
                let rows = run(parity, ids)
                let errors = rows.enumerated().map { t, row in Self.relative(row, c.llama_cpp[p].logits[t]) }
                let nll = Self.meanNLL(rows, ids), theirs = Self.meanNLL(c.llama_cpp[p].logits, ids)
                if allPacked {
                    // Same integer sums as ggml: most positions agree to float order (~1e-7); where an activation sits
                    // on a rounding boundary, one q value can differ by one step (~1e-3 on that position's logits).
                    #expect(abs(nll - theirs) / abs(theirs) < 1e-4, "\(name) mean NLL vs llama.cpp at \(level): \(nll) vs \(theirs)")
                    #expect(errors.sorted()[errors.count / 2] < 1e-5, "\(name) median logits error at \(level): \(errors)")
                }
                #expect(errors.max()! < 5e-2, "\(name) vs llama.cpp at \(level): \(errors)")
            }
        }
    }
}
