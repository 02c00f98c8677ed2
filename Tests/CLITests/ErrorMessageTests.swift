import DSFormats
import Foundation
import Testing

/// Errors as a user meets them: each names the file, field or flag at fault and says what is wrong in words.
@Suite struct ErrorMessageTests {
    /// A scratch folder with a 1-layer random model over the DeepSeek vocabulary (its tokenizer.json included).
    final class Scratch {
        let dir: URL
        let model: URL
        init(_ name: String) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-errors-\(name)-\(getpid())")
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            model = dir.appendingPathComponent("model")
            let r = try runDSLLM(["random-model", "--out", model.path, "--layers", "1", "--hidden", "32", "--context", "64"])
            try #require(r.status == 0, "\(r.err)")
        }
        deinit { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    }

    @Test func corruptModelTokenizerIsReportedAsCorrupt() throws {
        let s = try Scratch("corrupt-tok")
        let json = s.model.appendingPathComponent("tokenizer.json")
        let whole = try Data(contentsOf: json)
        try whole.prefix(whole.count / 2).write(to: json)
        // What `tokenizer info` says about the file is what generate and chat must say: the file and what is wrong.
        let info = try runDSLLM(["tokenizer", "info", "--tokenizer", json.path])
        #expect(info.status != 0 && info.err.contains(json.path), "\(info.err)")
        let infoReason = info.err.components(separatedBy: json.path).last!.trimmingCharacters(in: .whitespacesAndNewlines)
        for args in [["generate", "--model", s.model.path, "--prompt", "Hi", "--max-tokens", "2"],
                     ["score", "--model", s.model.path, "--text-file", json.path],
                     ["chat", "--model", s.model.path]] {
            let r = try runDSLLM(args, stdin: Array("Hi\n".utf8))
            #expect(r.status != 0, "\(args[0]) used a model with a corrupt tokenizer.json: \(r.out)")
            #expect(r.err.contains(json.path) && r.err.contains(infoReason), "\(args[0]): \(r.err)")
            #expect(!r.err.contains("needs a tokenizer"), "\(args[0]): \(r.err)")
        }
    }

    @Test func badTokenizerFlagBlamesThatPath() throws {
        let s = try Scratch("bad-tok-flag")
        let r = try runDSLLM(["generate", "--model", s.model.path, "--tokenizer", "/nonexistent/tok.json", "--prompt", "Hi"])
        #expect(r.status != 0)
        #expect(r.err.contains("--tokenizer /nonexistent/tok.json: no such file or directory"), "\(r.err)")
        #expect(!r.err.contains(s.model.path), "blames the model directory: \(r.err)")
        // A corrupt file given with --tokenizer is blamed on that file, and called corrupt.
        let broken = s.path("broken.json")
        try Data("{\"model\": {\"type\": \"BPE\", \"vocab\": {".utf8).write(to: URL(fileURLWithPath: broken))
        let b = try runDSLLM(["generate", "--model", s.model.path, "--tokenizer", broken, "--prompt", "Hi"])
        #expect(b.status != 0 && b.err.contains("--tokenizer \(broken)") && !b.err.contains("needs a tokenizer"), "\(b.err)")
    }

    @Test func writeErrorsNameThePathAndTheReason() throws {
        let s = try Scratch("write")
        let file = s.path("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        // (Tests run as root, for whom permissions never fail: a regular file where a folder should be always does.)
        let cases: [(args: [String], out: String)] = [
            (["convert", "--in", s.model.path, "--out", file + "/x.gguf"], file + "/x.gguf"),
            (["convert", "--in", s.model.path, "--out", file + "/hf"], file + "/hf"),
            (["quantize", "--in", s.model.path, "--type", "q8_0", "--out", file + "/sub/x.gguf"], file + "/sub/x.gguf"),
            (["tokenizer", "convert", "--out", file + "/tokenizer.json"], file + "/tokenizer.json"),
            (["score", "--model", s.model.path, "--ids", "1 2 3", "--logits-out", file + "/l.f32"], file + "/l.f32"),
            (["random-model", "--out", file + "/m", "--layers", "1", "--hidden", "32", "--context", "64"], file + "/m"),
        ]
        for c in cases {
            let r = try runDSLLM(c.args)
            #expect(r.status != 0, "\(c.args)")
            #expect(r.err.contains("cannot write \(c.out): not a directory (\(file) is a file)"), "\(c.args[0]): \(r.err)")
            #expect(!r.err.contains("doesn’t exist") && !r.err.contains("doesn't exist"), "\(r.err)")
        }
        // A directory where the file should go.
        let d = try runDSLLM(["quantize", "--in", s.model.path, "--type", "q8_0", "--out", s.dir.path])
        #expect(d.status != 0 && d.err.contains("cannot write \(s.dir.path): it is a directory"), "\(d.err)")
        // A missing output folder is created, as before.
        let nested = s.path("new/sub/x.gguf")
        let ok = try runDSLLM(["convert", "--in", s.model.path, "--out", nested, "--type", "f32"])
        #expect(ok.status == 0 && FileManager.default.fileExists(atPath: nested), "\(ok.err)")
    }

    @Test func writeErrorWordsForErrno() {
        // The reasons that the file system cannot show, from the errno a Foundation error carries. (The path's
        // folder exists and is writable, so nothing about it explains the failure.)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-unwritten-\(getpid())").path
        let enospc = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        #expect(WriteError(path: path, error: enospc).reason == "no space left on device")
        let nested = NSError(domain: NSCocoaErrorDomain, code: CocoaError.fileWriteUnknown.rawValue,
                             userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EROFS))])
        #expect(WriteError(path: path, error: nested).description == "cannot write \(path): read-only file system")
        #expect(WriteError(path: path, error: CocoaError(.fileWriteNoPermission)).reason == "permission denied")
    }

    @Test func detokenizeRejectsUnbalancedBrackets() throws {
        let unclosed = try runDSLLM(["detokenize"], stdin: Array("[1, 2".utf8))
        #expect(unclosed.status != 0 && unclosed.err.contains("at byte 0") && unclosed.err.contains("never closed"), "\(unclosed.err)")
        let stray = try runDSLLM(["detokenize"], stdin: Array("1, 2]".utf8))
        #expect(stray.status != 0 && stray.err.contains("at byte 4"), "\(stray.err)")
        let object = try runDSLLM(["detokenize"], stdin: Array("{\"ids\": [17464, 1843]".utf8))
        #expect(object.status != 0 && object.err.contains("'{' is never closed"), "\(object.err)")
        let fine = try runDSLLM(["detokenize"], stdin: Array("{\"ids\": [17464, 1843]}".utf8))
        #expect(fine.status == 0 && fine.out == "Hello world", "\(fine.err)")
    }

    @Test func enumOptionsListTheirChoices() throws {
        let cases: [(args: [String], choices: [String])] = [
            (["generate", "--kv-cache", "f8", "--prompt-ids", "1"], ["f32", "f16", "bf16"]),
            (["quantize", "--in", "x", "--out", "y.gguf", "--type", "q9_0"], ["q8_0", "q4_k_m", "q5_k_m"]),
            (["convert", "--in", "x", "--out", "y.gguf", "--type", "q4_0"], ["f32", "f16", "bf16"]),
            (["tokenizer", "train", "--input", "x", "--vocab-size", "300", "--out", "y", "--pre-tokenizer", "llama"],
             ["deepseek-llm", "gpt2"]),
            (["plan", "--preset", "deepseek-llm-7b", "--recompute", "some"], ["none", "full"]),
            (["plan", "--preset", "deepseek-llm-8b"], ["deepseek-llm-7b", "deepseek-llm-67b"]),
            (["scaling", "allocate", "--compute", "1e20", "--data-quality", "good"], ["early", "current", "owt2"]),
        ]
        for c in cases {
            let r = try runDSLLM(c.args)
            #expect(r.status != 0, "\(c.args) accepted a bad value")
            #expect(r.err.contains("is invalid for") && c.choices.allSatisfy { r.err.contains("'\($0)'") || r.err.contains("- \($0)") },
                    "\(c.args): \(r.err)")
        }
        let help = try runDSLLM(["generate", "--help"])
        let flat = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")  // help wraps at 80 columns
        #expect(flat.contains("values: f32, f16, bf16"), "\(help.out)")
        let quantizeHelp = try runDSLLM(["quantize", "--help"])
        #expect(quantizeHelp.out.contains("q4_k_m"), "\(quantizeHelp.out)")
    }
}
