import Foundation
import Testing

/// Runs the built `dsllm` binary (it sits next to the test bundle) as a user would.
func runDSLLM(_ args: [String], stdin: [UInt8] = []) throws -> (status: Int32, out: String, err: String) {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var binary = dir.appendingPathComponent("dsllm")
    if !FileManager.default.fileExists(atPath: binary.path) {
        binary = dir.deletingLastPathComponent().appendingPathComponent("dsllm")
    }
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = errPipe
    try p.run()
    inPipe.fileHandleForWriting.write(Data(stdin))
    try inPipe.fileHandleForWriting.close()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

@Suite struct CLITests {
    @Test func tokenizePrintsIDsOnOneLine() throws {
        let r = try runDSLLM(["tokenize"], stdin: Array("Hello world".utf8))
        #expect(r.status == 0)
        #expect(r.out == "17464 1843\n")
        let bos = try runDSLLM(["tokenize", "--bos", "--threads", "1"], stdin: Array("Hello world".utf8))
        #expect(bos.out == "100000 17464 1843\n")
    }

    @Test func tokenizeJSON() throws {
        let r = try runDSLLM(["tokenize", "--json"], stdin: Array(" Hello world!".utf8))
        #expect(r.out == "{\"ids\": [37727, 1843, 0], \"tokens\": [\"ĠHello\", \"Ġworld\", \"!\"]}\n")
    }

    @Test func detokenizeRoundTrips() throws {
        let text = "深度求索 👋 Führer\n  x"
        let ids = try runDSLLM(["tokenize"], stdin: Array(text.utf8)).out
        let back = try runDSLLM(["detokenize"], stdin: Array(ids.utf8))
        #expect(back.status == 0)
        #expect(back.out == text)
        let bad = try runDSLLM(["detokenize"], stdin: Array("1 2 x".utf8))
        #expect(bad.status != 0 && bad.err.contains("at byte 4"))
        let outOfRange = try runDSLLM(["detokenize"], stdin: Array("5 200000".utf8))
        #expect(outOfRange.status != 0 && outOfRange.err.contains("200000"))
    }

    @Test func invalidUTF8NamesTheOffset() throws {
        let r = try runDSLLM(["tokenize"], stdin: [0x61, 0x62, 0xFF, 0x63])
        #expect(r.status != 0)
        #expect(r.err.contains("byte offset 2"), "\(r.err)")
        let replaced = try runDSLLM(["tokenize", "--replace-invalid"], stdin: [0x61, 0x62, 0xFF, 0x63])
        #expect(replaced.status == 0 && !replaced.out.isEmpty)
    }

    @Test func badTokenizerPathIsAClearError() throws {
        let r = try runDSLLM(["tokenize", "--tokenizer", "/nonexistent/tok.gguf"], stdin: Array("x".utf8))
        #expect(r.status != 0 && r.err.contains("/nonexistent/tok.gguf"))
        let notGGUF = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-cli-\(getpid())-garbage.gguf")
        try Data("GGUF\u{3}\0\0\0garbage".utf8).write(to: notGGUF)
        let g = try runDSLLM(["tokenize", "--tokenizer", notGGUF.path], stdin: Array("x".utf8))
        #expect(g.status != 0 && g.err.contains(notGGUF.path) && g.err.contains("field"), "\(g.err)")
    }

    @Test func helpAndVersion() throws {
        let help = try runDSLLM(["--help"])
        #expect(help.status == 0)
        for sub in ["tokenize", "detokenize", "tokenizer", "demo"] { #expect(help.out.contains(sub)) }
        let version = try runDSLLM(["--version"])
        #expect(version.status == 0 && version.out.hasPrefix("0."))
    }

    @Test func trainWritesALoadableTokenizer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-cli-train-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let corpus = dir.appendingPathComponent("corpus.txt")
        try String(repeating: "the quick brown fox jumps over the lazy dog 123\n深度求索\n", count: 200)
            .write(to: corpus, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("tokenizer.json").path
        for again in [false, true] {  // the second run (--overwrite) replaces the files atomically
            let r = try runDSLLM(["tokenizer", "train", "--input", corpus.path, "--vocab-size", "300", "--out", out, "--quiet"]
                                 + (again ? ["--overwrite"] : []))
            #expect(r.status == 0, "\(r.err)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
        let t = try runDSLLM(["tokenize", "--tokenizer", out], stdin: Array("the quick".utf8))
        #expect(t.status == 0 && t.out.split(separator: " ").count <= 4, "\(t.out)")
        let chat = try runDSLLM(["tokenizer", "chat-template", "--generation-prompt"],
                                stdin: Array(#"[{"role": "user", "content": "Hi"}]"#.utf8))
        #expect(chat.out == "<｜begin▁of▁sentence｜>User: Hi\n\nAssistant:")
    }
}
