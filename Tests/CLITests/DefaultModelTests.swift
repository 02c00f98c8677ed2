import Foundation
import Testing

/// The shipped default model (models/default): commands use it without --model, its two files (bf16 safetensors
/// and Q8_0 GGUF) are the same model, and `score --logits-out` writes what `score` computes.
@Suite struct DefaultModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let model = root.appendingPathComponent("models/default")

    @Test func commandsUseTheDefaultModelWithoutModelOption() throws {
        try #require(FileManager.default.fileExists(atPath: Self.model.appendingPathComponent("config.json").path),
                     "models/default ships in the repository")
        // The test runs from wherever swift test runs; the binary finds models/default beside its checkout.
        let r = try runDSLLM(["generate", "--prompt", "The", "--max-tokens", "6", "--temperature", "0", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let ids = (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["ids"] as? [Int] ?? []
        #expect(!ids.isEmpty && ids.allSatisfy { (0..<8192).contains($0) }, "\(r.out)")
        let explicit = try runDSLLM(["generate", "--model", Self.model.path, "--prompt", "The", "--max-tokens", "6", "--temperature", "0", "--json"])
        let explicitIDs = (try JSONSerialization.jsonObject(with: Data(explicit.out.utf8)) as? [String: Any])?["ids"] as? [Int]
        #expect(explicitIDs == ids)
        let chat = try runDSLLM(["chat", "--temperature", "0", "--max-tokens", "8"], stdin: Array("Hello\n".utf8))
        #expect(chat.status == 0 && chat.out.contains("User: Hello\nAssistant: "), "\(chat.err)")
    }

    @Test func safetensorsAndGGUFAreTheSameModel() throws {
        try #require(FileManager.default.fileExists(atPath: Self.model.appendingPathComponent("model-q8_0.gguf").path))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-default-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tok = try runDSLLM(["tokenize", "--tokenizer", Self.model.path, "--bos"], stdin: Array("To be, or not to be, that is the question.".utf8))
        let ids = tok.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let n = ids.split(separator: " ").count
        #expect(tok.status == 0 && n > 8, "\(tok.err)")
        var logits: [[Float]] = []
        var nll: [Double] = []
        for (name, path) in [("st", Self.model.path), ("gguf", Self.model.appendingPathComponent("model-q8_0.gguf").path)] {
            let out = dir.appendingPathComponent(name + ".f32")
            let r = try runDSLLM(["score", "--model", path, "--ids", ids, "--json", "--logits-out", out.path])
            #expect(r.status == 0, "\(r.err)")
            nll.append((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["mean_nll"] as? Double ?? -1)
            let data = try Data(contentsOf: out)
            #expect(data.count == n * 8192 * 4)
            logits.append(data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
        }
        // --logits-out holds what score computed: its mean NLL, recomputed from the logits.
        let tokens = ids.split(separator: " ").map { Int($0)! }
        var total = 0.0
        for t in 0..<(tokens.count - 1) {
            let row = logits[0][(t * 8192)..<((t + 1) * 8192)].map(Double.init)
            let m = row.max()!
            total += m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[tokens[t + 1]]
        }
        #expect(abs(total / Double(tokens.count - 1) - nll[0]) < 1e-4)
        // Q8_0 is within quantization error of bf16: mean NLL within 2%, the same top token at all but ≤ 2 positions.
        #expect(abs(nll[0] - nll[1]) < 0.02 * nll[0], "\(nll)")
        var same = 0
        for t in 0..<tokens.count {
            let a = logits[0][(t * 8192)..<((t + 1) * 8192)], b = logits[1][(t * 8192)..<((t + 1) * 8192)]
            if a.firstIndex(of: a.max()!)! - t * 8192 == b.firstIndex(of: b.max()!)! - t * 8192 { same += 1 }
        }
        #expect(same >= n - 2, "top-1 agreement \(same)/\(n)")
    }
}
