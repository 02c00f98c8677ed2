import DSFormats
import Foundation
import Testing

/// `dsllm train` killed with SIGKILL mid-run and resumed gives the same loss curve as an uninterrupted run.
@Suite struct TrainResumeTests {
    static func binary() -> URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let b = dir.appendingPathComponent("dsllm")
        return FileManager.default.fileExists(atPath: b.path) ? b : dir.deletingLastPathComponent().appendingPathComponent("dsllm")
    }

    static func losses(_ run: URL) throws -> [String] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let r = line.range(of: "\"loss\": ")!
            return String(line[r.upperBound...].prefix { $0 != "," })
        }
    }

    static func strip(_ text: String) -> String {
        text.replacingOccurrences(of: #""(seconds|tokens_per_s|mfu)": [0-9.e+-]+"#, with: "", options: .regularExpression)
    }

    @Test func killNineAndResumeReproduceTheLossCurve() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-resume-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        try Data("""
            {"architectures": ["LlamaForCausalLM"], "vocab_size": 512, "hidden_size": 64, "intermediate_size": 160,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}
            """.utf8).write(to: config)
        // A shard: llm.c header (magic 20240801, version 7, count) + uint32 tokens of a repeated random phrase.
        var rng = SystemRandomNumberGenerator()
        let phrase = (0..<53).map { _ in UInt32.random(in: 0..<512, using: &rng) }
        let tokens = (0..<20000).map { phrase[$0 % phrase.count] }
        let shard = dir.appendingPathComponent("train.bin")
        try TokenShard.write(tokens, to: shard.path)
        func args(_ out: URL) -> [String] {
            ["train", "--config", config.path, "--data", shard.path, "--seq-len", "32", "--micro-batch", "2", "--batch-tokens", "128",
             "--steps", "300", "--warmup", "20", "--max-lr", "3e-3", "--out", out.path, "--checkpoint-every", "25", "--threads", "1",
             "--val-data", shard.path, "--val-every", "50", "--val-batches", "2"]
        }
        func run(_ a: [String]) throws -> Process {
            let p = Process()
            p.executableURL = Self.binary()
            p.arguments = a
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let full = dir.appendingPathComponent("full")
        let a = try run(args(full))
        a.waitUntilExit()
        #expect(a.terminationStatus == 0)
        let reference = try Self.losses(full)
        #expect(reference.count == 300)
        #expect(Double(reference.last!)! < Double(reference.first!)! * 0.5, "the loss falls")
        let metrics = try String(contentsOf: full.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(metrics.components(separatedBy: "\"val_loss\"").count - 1 == 6, "validation every 50 steps")
        let svg = try String(contentsOf: full.appendingPathComponent("loss.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))

        // Same run, killed with SIGKILL once it is past a few checkpoints, then resumed.
        let killed = dir.appendingPathComponent("killed")
        let b = try run(args(killed))
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let n = try? Self.losses(killed).count, n >= 110 { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        kill(b.processIdentifier, SIGKILL)
        b.waitUntilExit()
        let partial = try Self.losses(killed).count
        #expect(partial < 300, "the run was interrupted (\(partial) steps done)")
        let c = try run(args(killed) + ["--resume"])
        c.waitUntilExit()
        #expect(c.terminationStatus == 0)
        #expect(try Self.losses(killed) == reference)
        let resumed = try String(contentsOf: killed.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        // Every field but the wall-clock "seconds" is identical, validation losses included.
        #expect(Self.strip(resumed) == Self.strip(metrics))
    }

    @Test func badDataAndConfigFailBeforeAnyStep() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-bad-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try runDSLLM(["train", "--preset", "deepseek-llm-7b", "--data", "/nonexistent.bin", "--steps", "1", "--out", out])
        #expect(r.status != 0 && r.err.contains("nonexistent.bin"))
        let s = try runDSLLM(["train", "--preset", "nope", "--data", "/x", "--steps", "1", "--out", out])
        #expect(s.status != 0 && s.err.contains("--preset"))
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }
}
