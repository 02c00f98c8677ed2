import DSFormats
import Foundation
import Testing

/// A second run into a folder that holds a run never loses it: refused (files byte for byte as they were) unless
/// --resume or --overwrite; --resume needs a finished checkpoint; memory is checked before anything is written.
@Suite struct RunFolderTests {
    static func tempDir(_ name: String) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-runfolder-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// Every file under `dir` (relative path → bytes; symbolic links as their target).
    static func snapshot(_ dir: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let fm = FileManager.default
        for rel in try fm.subpathsOfDirectory(atPath: dir.path) {
            let p = dir.appendingPathComponent(rel).path
            if let target = try? fm.destinationOfSymbolicLink(atPath: p) { files[rel] = Data(("→" + target).utf8); continue }
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { files[rel] = try Data(contentsOf: URL(fileURLWithPath: p)) }
        }
        return files
    }

    static func trainSetup(_ dir: URL) throws -> (config: URL, shard: URL) {
        let config = dir.appendingPathComponent("config.json")
        try Data("""
            {"architectures": ["LlamaForCausalLM"], "vocab_size": 256, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "max_position_embeddings": 32,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}
            """.utf8).write(to: config)
        let shard = dir.appendingPathComponent("train.bin")
        try TokenShard.write((0..<4000).map { UInt32($0 * 7 % 256) }, to: shard.path)
        return (config, shard)
    }

    @Test func trainRefusesAFinishedRunAndKeepsItByteForByte() throws {
        let dir = try Self.tempDir("train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (config, shard) = try Self.trainSetup(dir)
        let out = dir.appendingPathComponent("run")
        func args(steps: Int) -> [String] {
            ["train", "--config", config.path, "--data", shard.path, "--seq-len", "16", "--micro-batch", "2", "--steps", "\(steps)",
             "--checkpoint-every", "1", "--keep", "2", "--threads", "1", "--out", out.path]
        }
        let first = try runDSLLM(args(steps: 8))
        #expect(first.status == 0, "\(first.err)")
        let before = try Self.snapshot(out)
        #expect(before.keys.contains("step-00000008/model.safetensors"))

        // The run that lost work before: same folder, fewer steps, no flag.
        let second = try runDSLLM(args(steps: 3))
        #expect(second.status != 0)
        #expect(second.err.contains("--resume") && second.err.contains("--overwrite") && second.err.contains(out.path), "\(second.err)")
        #expect(try Self.snapshot(out) == before, "the first run's files are unchanged")

        // --resume and --overwrite together are an error too, and touch nothing.
        let both = try runDSLLM(args(steps: 3) + ["--resume", "--overwrite"])
        #expect(both.status != 0 && both.err.contains("not both"))
        #expect(try Self.snapshot(out) == before)

        // --overwrite replaces it: the old checkpoints are gone, the new run reports its own.
        let replaced = try runDSLLM(args(steps: 3) + ["--overwrite"])
        #expect(replaced.status == 0, "\(replaced.err)")
        let after = try Self.snapshot(out)
        #expect(!after.keys.contains { $0.hasPrefix("step-00000008") })
        #expect(after.keys.contains("step-00000003/model.safetensors"))
        #expect(replaced.out.contains("step-00000003"))
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").count == 3)

        // --resume where there is nothing to resume is an error, and creates nothing.
        let empty = dir.appendingPathComponent("empty")
        let nothing = try runDSLLM(Array(args(steps: 3).dropLast()) + [empty.path, "--resume"])
        #expect(nothing.status != 0 && nothing.err.contains("no finished checkpoint"), "\(nothing.err)")
        #expect(!FileManager.default.fileExists(atPath: empty.appendingPathComponent("metrics.jsonl").path))
    }

    /// sft and dpo: the same rule, and `final` keeps pointing at the first run.
    @Test(arguments: ["sft", "dpo"]) func alignmentRefusesAFinishedRun(_ command: String) throws {
        let dir = try Self.tempDir(command)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (chat, prefs) = try AlignmentCLITests.chatData(dir)
        let out = dir.appendingPathComponent("run")
        var args = [command, "--model", AlignmentCLITests.golden.appendingPathComponent("policy").path,
                    "--tokenizer", AlignmentCLITests.golden.appendingPathComponent("tokenizer.json").path,
                    "--data", command == "sft" ? chat.path : prefs.path, "--out", out.path, "--max-length", "64", "--micro-batch", "2",
                    "--threads", "1", "--epochs", "1"]
        if command == "dpo" { args += ["--batch-pairs", "4"] }
        let first = try runDSLLM(args)
        #expect(first.status == 0, "\(first.err)")
        let before = try Self.snapshot(out)
        #expect(before["final"] != nil)
        let second = try runDSLLM(args + ["--lr", "1e-2"])
        #expect(second.status != 0 && second.err.contains("--resume") && second.err.contains("--overwrite"), "\(second.err)")
        #expect(try Self.snapshot(out) == before)
        let empty = dir.appendingPathComponent("empty")
        let nothing = try runDSLLM(args.map { $0 == out.path ? empty.path : $0 } + ["--resume"])
        #expect(nothing.status != 0 && nothing.err.contains("no finished checkpoint"), "\(nothing.err)")
        let replaced = try runDSLLM(args + ["--overwrite"])
        #expect(replaced.status == 0, "\(replaced.err)")
    }

    @Test func dataStagesAndEvalKeepEarlierOutputs() throws {
        let dir = try Self.tempDir("data")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("a.txt")
        try "One document.\n\nAnother one here.\n".write(to: text, atomically: true, encoding: .utf8)
        let store = dir.appendingPathComponent("store")
        #expect(try runDSLLM(["data", "ingest", text.path, "--out", store.path, "--quiet"]).status == 0)
        let before = try Self.snapshot(store)
        let again = try runDSLLM(["data", "ingest", text.path, "--split", "blank-line", "--out", store.path, "--quiet"])
        #expect(again.status != 0 && again.err.contains("--overwrite"), "\(again.err)")
        #expect(try Self.snapshot(store) == before)
        let replaced = try runDSLLM(["data", "ingest", text.path, "--split", "blank-line", "--out", store.path, "--quiet", "--overwrite"])
        #expect(replaced.status == 0, "\(replaced.err)")
        #expect(try Self.snapshot(store) != before)
        let same = try runDSLLM(["data", "dedup", "--exact", store.path, "--out", store.path, "--overwrite", "--quiet"])
        #expect(same.status != 0 && same.err.contains("is the input"), "\(same.err)")

        let results = dir.appendingPathComponent("res.json")
        try Data("earlier results".utf8).write(to: results)
        let eval = try runDSLLM(["eval", "--task", "copy-mc", "--limit", "2", "--out", results.path])
        #expect(eval.status != 0 && eval.err.contains("--overwrite"), "\(eval.err)")
        #expect(try Data(contentsOf: results) == Data("earlier results".utf8))
    }

    /// Models, tokenizers and figures: an existing output is refused unless --overwrite.
    @Test func fileOutputsAreNotReplacedWithoutOverwrite() throws {
        let dir = try Self.tempDir("files")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model")
        #expect(try runDSLLM(["random-model", "--layers", "1", "--hidden", "32", "--context", "64", "--out", model.path]).status == 0)
        let before = try Self.snapshot(model)
        let again = try runDSLLM(["random-model", "--layers", "1", "--hidden", "32", "--context", "64", "--seed", "2", "--out", model.path])
        #expect(again.status != 0 && again.err.contains("--overwrite"), "\(again.err)")
        #expect(try Self.snapshot(model) == before)
        let gguf = dir.appendingPathComponent("m.gguf")
        try Data("mine".utf8).write(to: gguf)
        for args in [["quantize", "--in", model.path, "--out", gguf.path, "--type", "q8_0"],
                     ["convert", "--in", model.path, "--out", gguf.path, "--type", "f16"],
                     ["tokenizer", "convert", "--out", gguf.path]] {
            let r = try runDSLLM(args)
            #expect(r.status != 0 && r.err.contains("already exists") && r.err.contains("--overwrite"), "\(args): \(r.err)")
            #expect(try Data(contentsOf: gguf) == Data("mine".utf8))
        }
        let replaced = try runDSLLM(["quantize", "--in", model.path, "--out", gguf.path, "--type", "q8_0", "--overwrite"])
        #expect(replaced.status == 0, "\(replaced.err)")
        let converted = try runDSLLM(["convert", "--in", gguf.path, "--out", model.path, "--type", "f32"])
        #expect(converted.status != 0 && converted.err.contains("--overwrite"), "\(converted.err)")
        #expect(try Self.snapshot(model) == before)
    }

    @Test func memoryIsCheckedBeforeAnythingIsWritten() throws {
        let dir = try Self.tempDir("memory")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("big")
        let r = try runDSLLM(["random-model", "--hidden", "65536", "--layers", "4", "--out", out.path])
        #expect(r.status != 0 && r.err.contains("available (MemAvailable)") && r.err.contains("GiB"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let (_, shard) = try Self.trainSetup(dir)
        let config = dir.appendingPathComponent("huge.json")
        try Data("""
            {"architectures": ["LlamaForCausalLM"], "vocab_size": 102400, "hidden_size": 65536, "intermediate_size": 176128, "num_hidden_layers": 30,
             "num_attention_heads": 512, "max_position_embeddings": 32}
            """.utf8).write(to: config)
        let run = dir.appendingPathComponent("run")
        let t = try runDSLLM(["train", "--config", config.path, "--data", shard.path, "--seq-len", "16", "--steps", "1", "--out", run.path])
        #expect(t.status != 0 && t.err.contains("training needs about") && t.err.contains("AdamW moments"), "\(t.err)")
        #expect(!FileManager.default.fileExists(atPath: run.path))
    }

    /// One command from text files to a model that `generate --prompt` loads: ingest, a trained tokenizer, shards
    /// with a validation split, the tiny preset, a warmup that fits a short run.
    @Test func trainOnTextInOneCommand() throws {
        let dir = try Self.tempDir("text")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("story.txt")
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "looked", "at", "the", "moon", "over", "river"]
        var story = ""
        for p in 0..<120 { story += (0..<30).map { words[($0 * 7 + p * 3) % words.count] }.joined(separator: " ") + ".\n\n" }
        try story.write(to: text, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("run")
        let r = try runDSLLM(["train", "--text", text.path, "--train-tokenizer", "300", "--seq-len", "32", "--micro-batch", "2",
                              "--steps", "4", "--max-lr", "1e-3", "--threads", "1", "--out", out.path, "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("4 layers × 256"), "\(r.out)")
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 4)
        // Warmup defaults to 10% of a short run (0 here): the first step already trains at the peak rate.
        #expect(metrics.first?.contains("\"lr\": 0.001") == true, "\(metrics.first ?? "")")
        #expect(metrics.last?.contains("val_loss") == true, "a validation split was held out")
        let checkpoint = out.appendingPathComponent("step-00000004")
        for name in ["tokenizer.json", "tokenizer_config.json", "model.safetensors", "config.json"] {
            #expect(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(name).path), "\(name)")
        }
        let g = try runDSLLM(["generate", "--model", checkpoint.path, "--prompt", "the cat", "--max-tokens", "4"])
        #expect(g.status == 0, "\(g.err)")
        // Resumed with more steps: the prepared data and tokenizer are reused.
        let more = try runDSLLM(["train", "--text", text.path, "--train-tokenizer", "300", "--seq-len", "32", "--micro-batch", "2",
                                 "--steps", "6", "--max-lr", "1e-3", "--threads", "1", "--out", out.path, "--quiet", "--resume"])
        #expect(more.status == 0 && more.out.contains("resumed from"), "\(more.err)")
        // Filters are off unless asked for; a bad name is refused before anything is written.
        let bad = dir.appendingPathComponent("bad")
        let b = try runDSLLM(["train", "--text", text.path, "--text-filters", "nope", "--out", bad.path])
        #expect(b.status != 0 && b.err.contains("--text-filters") && !FileManager.default.fileExists(atPath: bad.path), "\(b.err)")
        let prose = dir.appendingPathComponent("prose.txt")
        try (0..<60).map { p in (0..<6).map { "The cat number \(p) sat on mat \($0) and looked at the moon." }.joined(separator: " ") + "\n\n" }
            .joined().write(to: prose, atomically: true, encoding: .utf8)
        let filtered = dir.appendingPathComponent("filtered")
        let f = try runDSLLM(["train", "--text", prose.path, "--text-filters", "c4", "--seq-len", "32", "--micro-batch", "2", "--steps", "1",
                              "--threads", "1", "--out", filtered.path, "--quiet"])
        #expect(f.status == 0 && f.out.contains("filters (c4)"), "\(f.out) \(f.err)")
        #expect(FileManager.default.fileExists(atPath: filtered.appendingPathComponent("data/filtered").path))
    }
}
