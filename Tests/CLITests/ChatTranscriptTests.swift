import Foundation
import Testing

/// `dsllm chat` with prompts piped in (what `make run` shows a new user), and the sampling flags' edge cases.
@Suite struct ChatTranscriptTests {
    static let runSampling = ["--temperature", "0.7", "--top-p", "0.95", "--repeat-penalty", "1.1", "--seed", "42"]

    @Test func pipedChatReadsAsATranscript() throws {
        let r = try runDSLLM(["chat", "--max-tokens", "48"] + Self.runSampling, stdin: Array("Hello!\nWhat is AI?\n".utf8))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\nUser: Hello!\nAssistant: "), "\(r.out)")
        #expect(r.out.contains("\nUser: What is AI?\nAssistant: "), "\(r.out)")
        #expect(!r.out.contains("\n\n\n"), "a run of blank lines: \(r.out)")
        let last = r.out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("--model path/to/deepseek-llm-7b-chat") && last.contains("models/default/README.md"), "\(last)")
        #expect(r.out.contains("not DeepSeek's weights"), "the banner says what the default model is: \(r.out)")
    }

    @Test func ignoreEOSKeepsStopStrings() throws {
        func generate(_ extra: [String]) throws -> (text: String, reason: String) {
            let r = try runDSLLM(["generate", "--prompt", "The king", "--max-tokens", "40", "--temperature", "0", "--ignore-eos", "--json"] + extra)
            try #require(r.status == 0, "\(r.err)")
            let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] ?? [:]
            return (json["text"] as? String ?? "", json["finish_reason"] as? String ?? "")
        }
        let free = try generate([])
        try #require(free.text.count >= 12, "\(free.text)")
        let stop = String(free.text.dropFirst(6).prefix(3))
        let stopped = try generate(["--stop", stop])
        #expect(stopped.reason == "stop", "--stop \(stop) ignored under --ignore-eos: \(stopped)")
        #expect(stopped.text == String(free.text[..<free.text.range(of: stop)!.lowerBound]), "\(stopped.text)")
    }

    @Test func chatHonoursIgnoreEOS() throws {
        // Greedy, the default model ends its reply to "Hello!" with EOS after n tokens (n counting EOS). With
        // --max-tokens n + 1 the reply stops at EOS; with --ignore-eos as well, it runs on to --max-tokens.
        let template = try runDSLLM(["tokenizer", "chat-template", "--tokenizer", DefaultModelTests.model.path,
                                     "--generation-prompt", "--ids"], stdin: Array(#"[{"role": "user", "content": "Hello!"}]"#.utf8))
        try #require(template.status == 0, "\(template.err)")
        let g = try runDSLLM(["generate", "--prompt-ids", template.out, "--temperature", "0", "--max-tokens", "200", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(g.out.utf8)) as? [String: Any] ?? [:]
        let n = (json["ids"] as? [Int])?.count ?? 0
        try #require(json["finish_reason"] as? String == "stop" && n > 0, "\(g.out) \(g.err)")
        let args = ["chat", "--temperature", "0", "--max-tokens", "\(n + 1)"]
        let normal = try runDSLLM(args, stdin: Array("Hello!\n".utf8))
        #expect(normal.status == 0 && !normal.out.contains("[the reply reached --max-tokens]"), "\(normal.out)")
        let ignoring = try runDSLLM(args + ["--ignore-eos"], stdin: Array("Hello!\n".utf8))
        #expect(ignoring.status == 0 && ignoring.out.contains("[the reply reached --max-tokens]"), "\(ignoring.out)")
    }

    @Test func penaltyErrorsNameTheRealFlag() throws {
        let r = try runDSLLM(["generate", "--prompt-ids", "1 2", "--repeat-penalty", "0"])
        #expect(r.status != 0 && r.err.contains("--repeat-penalty must be > 0"), "\(r.err)")
        #expect(!r.err.contains("repetition"), "\(r.err)")
        let topP = try runDSLLM(["generate", "--prompt-ids", "1 2", "--top-p", "2"])
        #expect(topP.status != 0 && topP.err.contains("--top-p must be in (0, 1]"), "\(topP.err)")
    }
}

/// `dsllm chat --cache-dir`: /save writes the conversation's keys and values next to the JSON, and a later session
/// that loads the conversation restores them instead of prefilling its history; corrupt block files are ignored.
@Suite struct ChatDiskCacheTests {
    @Test func savedConversationIsRestoredFromTheCacheDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-chat-cache-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let blocks = dir.appendingPathComponent("kv").path, saved = dir.appendingPathComponent("talk.json").path
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let args = ["chat", "--temperature", "0", "--max-tokens", "24", "--system", "You answer in long sentences about geography."]
        let first = try runDSLLM(args + ["--cache-dir", blocks],
                                 stdin: Array("Tell me about the rivers, mountains and seas of Europe, and their old towns.\nAnd the cities by the rivers?\n/save \(saved)\n".utf8))
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("[saved 5 messages to \(saved)]"), "\(first.out)")
        let files = try FileManager.default.contentsOfDirectory(atPath: blocks).filter { $0.hasSuffix(".kvb") }
        #expect(!files.isEmpty, "block files written at /save")

        let next = Array("One more question about the coast?\n".utf8)
        let resumed = try runDSLLM(args + ["--cache-dir", blocks, "--load", saved], stdin: next)
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(resumed.out.contains("[loaded 5 messages from \(saved)]"), "\(resumed.out)")
        let restored = resumed.out.range(of: #"\[restored (\d+) of (\d+) prompt tokens from the cache directory\]"#, options: .regularExpression)
        #expect(restored != nil, "\(resumed.out)")
        if let r = restored {
            let numbers = resumed.out[r].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(numbers.count == 2 && numbers[0] >= 64 && numbers[0] < numbers[1], "\(resumed.out[r])")
        }

        // Damaged files are ignored, never loaded: the conversation is prefilled again and still answered.
        for f in files {
            let path = (blocks as NSString).appendingPathComponent(f)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let damaged = try runDSLLM(args + ["--cache-dir", blocks, "--load", saved], stdin: next)
        #expect(damaged.status == 0 && !damaged.out.contains("[restored"), "\(damaged.out)")
        #expect(damaged.out.contains("Assistant: "), "\(damaged.out)")
    }
}
