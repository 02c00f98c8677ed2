import DSFormats
import Foundation
import Testing

/// `dsllm train` options beyond the loop itself: samples during training, `--init-from` an HF directory or a GGUF
/// file (the same weights give the same first loss), and `--precision bf16`.
@Suite struct TrainOptionsTests {
    struct Run {
        let status: Int32
        let output: String
    }

    static func dsllm(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = TrainResumeTests.binary()
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// A model over the DeepSeek vocabulary (so the embedded tokenizer's samples fit) that is tiny elsewhere.
    static func setUp(_ dir: URL) throws -> (config: String, shard: String) {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("config.json")
        try Data("""
            {"architectures": ["LlamaForCausalLM"], "vocab_size": 102400, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false, "eos_token_id": 100001}
            """.utf8).write(to: config)
        let phrase: [UInt32] = [549, 2103, 11, 1414, 895, 100001, 37, 4011, 13, 77, 50000, 12]
        let tokens = (0..<4000).map { phrase[$0 % phrase.count] }
        let shard = dir.appendingPathComponent("train.bin")
        try TokenShard.write(tokens, to: shard.path)
        return (config.path, shard.path)
    }

    static func firstLoss(_ run: URL) throws -> String {
        try TrainResumeTests.losses(run).first!
    }

    @Test func samplesInitFromHFAndGGUFAndBF16() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-train-options-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (config, shard) = try Self.setUp(dir)
        let common = ["train", "--config", config, "--data", shard, "--seq-len", "16", "--micro-batch", "2", "--warmup", "2",
                      "--max-lr", "1e-2", "--threads", "2"]
        // 1. Samples every 3 steps (and at the end), through the embedded tokenizer.
        let base = dir.appendingPathComponent("base")
        let a = try Self.dsllm(common + ["--steps", "6", "--out", base.path, "--sample-every", "3", "--sample-tokens", "4"])
        #expect(a.status == 0, "\(a.output)")
        #expect(a.output.contains("step 3 sample: The"))
        let samples = try String(contentsOf: base.appendingPathComponent("samples.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 2 && samples[0].hasPrefix("{\"step\": 3, \"prompt\": \"The\", \"text\": "))
        let checkpoint = base.appendingPathComponent("step-00000006").path

        // 2. The checkpoint as HF directory and as GGUF (q/k rows permuted) start training from the same weights.
        let gguf = dir.appendingPathComponent("model.gguf").path
        let c = try Self.dsllm(["convert", "--in", checkpoint, "--out", gguf, "--type", "f32"])
        #expect(c.status == 0, "\(c.output)")
        let fromHF = dir.appendingPathComponent("from-hf"), fromGGUF = dir.appendingPathComponent("from-gguf")
        #expect(try Self.dsllm(common + ["--steps", "1", "--out", fromHF.path, "--init-from", checkpoint]).status == 0)
        #expect(try Self.dsllm(common + ["--steps", "1", "--out", fromGGUF.path, "--init-from", gguf]).status == 0)
        let hfLoss = try Self.firstLoss(fromHF), ggufLoss = try Self.firstLoss(fromGGUF), randomLoss = try Self.firstLoss(base)
        #expect(hfLoss == ggufLoss, "HF \(hfLoss) vs GGUF \(ggufLoss)")
        #expect(Double(hfLoss)! < Double(randomLoss)!, "trained weights were loaded (\(hfLoss) vs random \(randomLoss))")

        // 3. A shape mismatch is refused before any step.
        let wide = dir.appendingPathComponent("wide.json")
        try Data(try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "\"intermediate_size\": 64",
                                                                                          with: "\"intermediate_size\": 96").utf8).write(to: wide)
        let bad = try Self.dsllm(["train", "--config", wide.path, "--data", shard, "--seq-len", "16", "--micro-batch", "2", "--steps", "1",
                                  "--out", dir.appendingPathComponent("bad").path, "--init-from", gguf])
        #expect(bad.status != 0 && bad.output.contains("does not match the training config"), "\(bad.output)")

        // 4. bf16 products: the same run's first loss agrees with f32 to bf16's precision, and differs from it.
        let bf = dir.appendingPathComponent("bf16")
        let r = try Self.dsllm(common + ["--steps", "2", "--out", bf.path, "--precision", "bf16"])
        #expect(r.status == 0 && r.output.contains("bf16 products"), "\(r.output)")
        let bfLoss = Double(try Self.firstLoss(bf))!, f32Loss = Double(randomLoss)!
        #expect(abs(bfLoss - f32Loss) < 1e-3 * f32Loss, "bf16 \(bfLoss) vs f32 \(f32Loss)")
    }
}
