import Foundation
import Testing

/// `dsllm serve` as a user starts it: arguments checked before anything loads, the banner visible at once.
@Suite struct ServeCLITests {
    @Test func portOutsideOneTo65535IsAnArgumentError() throws {
        for port in ["99999", "0", "-1", "65536"] {
            let r = try runDSLLM(["serve", "--port=\(port)"])
            #expect(r.status != 0, "--port \(port) accepted")
            #expect(r.err.contains("--port must be between 1 and 65535"), "--port \(port): \(r.err)")
        }
    }

    /// stdout to a file is block-buffered: without a flush the banner stays in the buffer while the server runs.
    @Test func bannerReachesAFileWhileTheServerRuns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-serve-banner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model").path
        let made = try runDSLLM(["random-model", "--out", model, "--layers", "1", "--hidden", "32", "--context", "64"])
        #expect(made.status == 0, "\(made.err)")
        let port = Int.random(in: 20000...60000)
        let outFile = dir.appendingPathComponent("stdout.txt")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let out = try FileHandle(forWritingTo: outFile)
        let p = Process()
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var binary = binDir.appendingPathComponent("dsllm")
        if !FileManager.default.fileExists(atPath: binary.path) { binary = binDir.deletingLastPathComponent().appendingPathComponent("dsllm") }
        p.executableURL = binary
        p.arguments = ["serve", "--model", model, "--port", String(port), "--parallel", "1", "--threads", "1"]
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer {
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            try? out.close()
        }
        // Bounded generously (a loaded machine); the banner comes once the socket is bound.
        let expected = "dsllm serve: http://127.0.0.1:\(port) — model 'dsllm'"
        let deadline = Date().addingTimeInterval(120)
        var text = ""
        while Date() < deadline && p.isRunning {
            text = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
            if text.contains(expected) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(p.isRunning, "serve exited early (port \(port) taken?)")
        #expect(text.contains(expected), "stdout so far: \(text.debugDescription)")
    }
}
