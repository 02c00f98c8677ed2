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
