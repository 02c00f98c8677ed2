import DSFormats
@testable import DSModel
import DSTensor
import Foundation
import Testing
import TestSupport

/// Mutated model files (GGUF and safetensors) must load cleanly or fail with a FormatError — never crash,
/// never read outside the file. `DSLLM_FUZZ_ITERATIONS` raises the count (`make fuzz` runs 100k).
@Suite struct ModelFileFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["DSLLM_FUZZ_ITERATIONS"] ?? "") ?? 1500

    /// A micro model (vocab 64, hidden 32) written by dsllm itself, so files are a few KB.
    static func microModel(_ dir: URL) throws -> (gguf: [UInt8], safetensors: [UInt8], config: String) {
        let c = ModelConfig(vocabularySize: 64, hiddenSize: 32, intermediateSize: 64, layerCount: 1, headCount: 2,
                            kvHeadCount: 1, maxPositions: 32)
        var rng = SeededRandom(seed: 5)
        var w = SafetensorsWriter()
        func m(_ name: String, _ r: Int, _ k: Int) -> SafetensorsWriter.Tensor {
            .init(name: name, dtype: .f32, shape: [r, k],
                  data: (0..<(r * k)).flatMap { _ in withUnsafeBytes(of: Float.random(in: -0.2...0.2, using: &rng).bitPattern) { Array($0) } })
        }
        func v(_ name: String, _ n: Int) -> SafetensorsWriter.Tensor {
            .init(name: name, dtype: .f32, shape: [n], data: (0..<n).flatMap { _ in withUnsafeBytes(of: Float(1).bitPattern) { Array($0) } })
        }
        let n = TensorNaming.hf
        w.tensors = [m(n.embedding, 64, 32), v(n.finalNorm, 32), m(n.output, 64, 32), v(n.name(.layer(0, .attentionNorm)), 32),
                     v(n.name(.layer(0, .ffnNorm)), 32), m(n.name(.layer(0, .wq)), 32, 32), m(n.name(.layer(0, .wk)), 16, 32),
                     m(n.name(.layer(0, .wv)), 16, 32), m(n.name(.layer(0, .wo)), 32, 32), m(n.name(.layer(0, .wGate)), 64, 32),
                     m(n.name(.layer(0, .wUp)), 64, 32), m(n.name(.layer(0, .wDown)), 32, 64)]
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try w.write(to: dir.appendingPathComponent("model.safetensors").path)
        let config = ModelExport.configJSON(c, dtype: .f32)
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let weights = try ModelWeights.load(path: dir.path)
        let gguf = dir.appendingPathComponent("m.gguf").path
        try ModelExport.writeGGUF(weights, type: .q8_0, to: gguf, extraMetadata: [])
        return (Array(try Data(contentsOf: URL(fileURLWithPath: gguf))), w.bytes(), config)
    }

    /// Loads and, if that works, runs two tokens: either succeeds or throws FormatError.
    static func exercise(_ path: String) -> Bool {
        guard let w = try? ModelWeights.load(path: path) else { return false }
        let t = Transformer(weights: w, maxSequence: 4, threads: 1)
        _ = t.forward(token: 0, position: 0)
        _ = t.forward(token: Int32(w.config.vocabularySize - 1), position: 1)
        return true
    }

    @Test func mutatedGGUFAndSafetensorsNeverCrash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-fuzz-\(getpid())")
        let (gguf, st, config) = try Self.microModel(dir)
        #expect(Self.exercise(dir.appendingPathComponent("m.gguf").path))
        var rng = SeededRandom(seed: 0xF022)
        let ggufPath = dir.appendingPathComponent("fuzz.gguf").path
        let stDir = dir.appendingPathComponent("st")
        try FileManager.default.createDirectory(at: stDir, withIntermediateDirectories: true)
        try config.write(to: stDir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        var accepted = 0
        for i in 0..<Self.iterations {
            // Mutate mostly the header (metadata, tensor infos): that is where parsing decisions are made.
            var bytes = i % 2 == 0 ? gguf : st
            let headerEnd = i % 2 == 0 ? min(bytes.count, 2048) : min(bytes.count, 8 + 1200)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[Int.random(in: 0..<headerEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[Int.random(in: 0..<headerEnd, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                case 2: bytes.removeLast(Int.random(in: 1...min(64, bytes.count - 1), using: &rng))
                default:
                    let at = Int.random(in: 0..<headerEnd - 8, using: &rng)
                    for k in 0..<8 { bytes[at + k] = [0, 0xFF, 0x7F][Int.random(in: 0..<3, using: &rng)] }
                }
            }
            if i % 2 == 0 {
                try Data(bytes).write(to: URL(fileURLWithPath: ggufPath))
                if Self.exercise(ggufPath) { accepted += 1 }
            } else {
                try Data(bytes).write(to: stDir.appendingPathComponent("model.safetensors"))
                if Self.exercise(stDir.path) { accepted += 1 }
            }
        }
        #expect(accepted < Self.iterations)  // most mutations are caught; survivors ran without crashing
    }
}
