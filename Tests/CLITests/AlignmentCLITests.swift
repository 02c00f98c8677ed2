import Foundation
import Testing

/// `dsllm sft` / `dsllm dpo` as a user runs them: complete runs, resume from a middle checkpoint, bad data.
@Suite struct AlignmentCLITests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DSAlignmentTests/Golden")

    static func chatData(_ dir: URL) throws -> (chat: URL, prefs: URL) {
        let topics = ["the sea", "a cat", "the moon", "bread", "rain", "music", "a river", "winter"]
        var chat = "", prefs = ""
        for (i, t) in topics.enumerated() {
            for k in 0..<3 {
                let q = "Tell me about \(t), please \(k)."
                let a = "Here is a fact about \(t): it is number \(i + k)."
                chat += #"{"messages": [{"role": "user", "content": "\#(q)"}, {"role": "assistant", "content": "\#(a)"}]}"# + "\n"
                prefs += #"{"prompt": [{"role": "user", "content": "\#(q)"}], "chosen": "\#(a)", "rejected": "I do not know \#(topics[(i + 3) % topics.count])."}"# + "\n"
            }
        }
        let c = dir.appendingPathComponent("chat.jsonl"), p = dir.appendingPathComponent("prefs.jsonl")
        try chat.write(to: c, atomically: true, encoding: .utf8)
        try prefs.write(to: p, atomically: true, encoding: .utf8)
        return (c, p)
    }

    static func strip(_ text: String) -> String {
        text.replacingOccurrences(of: #""(seconds|tokens_per_s|mfu)": [0-9.e+-]+"#, with: "", options: .regularExpression)
    }

    /// Runs to the end, then resumes a copy from its step-3 checkpoint: identical metrics.
    func resumeMatches(_ command: [String], name: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (chat, prefs) = try Self.chatData(dir)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        func args(_ out: URL) -> [String] {
            command + ["--model", Self.golden.appendingPathComponent("policy").path, "--tokenizer", Self.golden.appendingPathComponent("tokenizer.json").path,
                       "--data", name == "sft" ? chat.path : prefs.path, "--out", out.path, "--max-length", "64", "--micro-batch", "2",
                       "--lr", "1e-3", "--checkpoint-every", "3", "--keep", "100", "--threads", "1", "--epochs", "2"]
        }
        let full = try runDSLLM(args(a))
        #expect(full.status == 0, "\(full.err)")
        let metrics = try String(contentsOf: a.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let lines = metrics.split(separator: "\n")
        #expect(lines.count >= 6, "\(full.out)")
        let fm = FileManager.default
        try fm.copyItem(at: a, to: b)
        for c in try fm.contentsOfDirectory(atPath: b.path) where c.hasPrefix("step-") && c != "step-00000003" {
            try fm.removeItem(at: b.appendingPathComponent(c))
        }
        let resumed = try runDSLLM(args(b) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(resumed.out.contains("resumed from"))
        let again = try String(contentsOf: b.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(Self.strip(again) == Self.strip(metrics))
        // The result is a complete model folder (weights, config, tokenizer) that generate can load.
        let final = b.appendingPathComponent("final")
        #expect(fm.fileExists(atPath: final.appendingPathComponent("tokenizer.json").path))
        let g = try runDSLLM(["generate", "--model", final.path, "--prompt", "Tell me", "--max-tokens", "4"])
        #expect(g.status == 0, "\(g.err)")
    }

    @Test func sftRunsAndResumesExactly() throws { try resumeMatches(["sft"], name: "sft") }

    @Test func dpoRunsAndResumesExactly() throws { try resumeMatches(["dpo", "--batch-pairs", "4", "--beta", "0.1"], name: "dpo") }

    /// Two SFT stages: the second starts from the first one's result and writes its own run folder.
    @Test func twoStageSFT() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-sft2-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (chat, _) = try Self.chatData(dir)
        let out = dir.appendingPathComponent("o")
        let r = try runDSLLM(["sft", "--model", Self.golden.appendingPathComponent("policy").path, "--tokenizer",
                              Self.golden.appendingPathComponent("tokenizer.json").path, "--data", chat.path, "--stage2-data", chat.path,
                              "--stage2-epochs", "1", "--stage2-lr", "1e-4", "--out", out.path, "--max-length", "64", "--micro-batch", "2",
                              "--lr", "1e-3", "--epochs", "1", "--threads", "1"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("stage1/final") && r.out.contains("stage2/final"))
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: out.appendingPathComponent("stage2/final/model.safetensors").path))
        let second = try String(contentsOf: out.appendingPathComponent("stage2/metrics.jsonl"), encoding: .utf8)
        let first = try JSONSerialization.jsonObject(with: Data(second.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect(abs((first?["lr"] as? Double ?? 0) - 1e-4) < 1e-9, "stage 2 uses its own peak learning rate")
    }

    @Test func unusableDataIsAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-sft-bad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("bad.jsonl")
        try "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\nnot json\n".write(to: data, atomically: true, encoding: .utf8)
        let r = try runDSLLM(["sft", "--model", Self.golden.appendingPathComponent("policy").path, "--tokenizer",
                              Self.golden.appendingPathComponent("tokenizer.json").path, "--data", data.path, "--out", dir.appendingPathComponent("o").path])
        #expect(r.status != 0)
        #expect(r.out.contains("skipped 1 (no assistant turn): line 1") && r.out.contains("skipped 1 (malformed JSON): line 2"), "\(r.out)")
        #expect(r.err.contains("no usable conversation"))
    }
}
