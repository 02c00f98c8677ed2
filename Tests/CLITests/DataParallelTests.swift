import DSFormats
import Foundation
import Testing

/// `mpirun -np 2 dsllm train` (data parallel, ZeRO-1) against one process on the same global batch: the same
/// per-step losses and final weights; resuming with a different rank count; a killed rank stops the job.
@Suite(.serialized) struct DataParallelTests {
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func launch(_ ranks: Int, _ args: [String], output: URL? = nil) throws -> Process {
        let p = Process()
        if ranks == 0 {
            p.executableURL = TrainResumeTests.binary()
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: mpirun!)
            // Loopback only, any user (CI runs as root), more ranks than cores allowed.
            p.arguments = ["--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader,tcp", "-np", "\(ranks)",
                           TrainResumeTests.binary().path] + args
        }
        if let output {
            FileManager.default.createFile(atPath: output.path, contents: nil)
            let h = try FileHandle(forWritingTo: output)
            p.standardOutput = h
            p.standardError = h
        } else {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    static func weights(_ checkpoint: URL, _ file: String) throws -> [String: [Float]] {
        let f = try SafetensorsFile(path: checkpoint.appendingPathComponent(file).path)
        var out: [String: [Float]] = [:]
        for t in f.tensors { out[t.name] = Array(f.data(of: t).bindMemory(to: Float.self)) }
        return out
    }

    static func metrics(_ run: URL) throws -> [(loss: Double, norm: Double)] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["loss"] as! Double, o["grad_norm"] as! Double)
        }
    }

    @Test func twoRanksEqualOneAndResumeAcrossRankCounts() throws {
        guard Self.mpirun != nil else {
            Issue.record("mpirun is missing: `make deps` installs Debian's openmpi-bin")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-mpi-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (config, shard) = try TrainOptionsTests.setUp(dir)
        func args(_ out: URL, steps: Int = 12) -> [String] {
            ["train", "--config", config, "--data", shard, "--seq-len", "16", "--micro-batch", "2", "--batch-tokens", "128",
             "--steps", "\(steps)", "--warmup", "3", "--max-lr", "1e-2", "--threads", "1", "--checkpoint-every", "6", "--keep", "3",
             "--out", out.path]
        }
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let a = try Self.launch(0, args(one)); a.waitUntilExit()
        let log = dir.appendingPathComponent("two.log")
        let b = try Self.launch(2, args(two), output: log); b.waitUntilExit()
        #expect(a.terminationStatus == 0)
        let logText = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(b.terminationStatus == 0, "\(logText)")
        let m1 = try Self.metrics(one), m2 = try Self.metrics(two)
        #expect(m1.count == 12 && m2.count == 12)
        for (x, y) in zip(m1, m2) {
            #expect(abs(x.loss - y.loss) < 1e-5 && abs(x.norm - y.norm) < 1e-4 * max(1, x.norm), "\(x) vs \(y)")
        }
        #expect(logText.contains("data parallel: 2 ranks"))
        // Final weights and the gathered (ZeRO-1 sharded) moments agree.
        for file in ["model.safetensors", "optimizer.safetensors"] {
            let w1 = try Self.weights(one.appendingPathComponent("step-00000012"), file)
            let w2 = try Self.weights(two.appendingPathComponent("step-00000012"), file)
            #expect(w1.keys.sorted() == w2.keys.sorted())
            var worst: Float = 0
            for (k, v) in w1 { for (p, q) in zip(v, w2[k]!) { worst = max(worst, abs(p - q)) } }
            #expect(worst < 1e-5, "\(file): worst difference \(worst)")
        }
        // The two-rank run's step-6 checkpoint, resumed by one process: the rest equals the one-process run.
        let three = dir.appendingPathComponent("three")
        try FileManager.default.copyItem(at: two, to: three)
        try FileManager.default.removeItem(at: three.appendingPathComponent("step-00000012"))
        let c = try Self.launch(0, args(three) + ["--resume"]); c.waitUntilExit()
        #expect(c.terminationStatus == 0)
        let m3 = try Self.metrics(three)
        #expect(m3.count == 12)
        for (x, y) in zip(m1, m3) { #expect(abs(x.loss - y.loss) < 1e-5, "\(x) vs \(y)") }
    }

    @Test func aKilledRankStopsTheJobWithAMessage() throws {
        guard Self.mpirun != nil else {
            Issue.record("mpirun is missing: `make deps` installs Debian's openmpi-bin")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-mpi-kill-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (config, shard) = try TrainOptionsTests.setUp(dir)
        let out = dir.appendingPathComponent("run"), log = dir.appendingPathComponent("log")
        let job = try Self.launch(2, ["train", "--config", config, "--data", shard, "--seq-len", "16", "--micro-batch", "2",
                                      "--batch-tokens", "64", "--steps", "100000", "--warmup", "3", "--threads", "1", "--out", out.path],
                                  output: log)
        // Wait for training to run, then SIGKILL one rank (a child of mpirun running dsllm).
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, ((try? String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8))?.count ?? 0) < 200 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let children = try String(contentsOfFile: "/proc/\(job.processIdentifier)/task/\(job.processIdentifier)/children", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0) }
        #expect(!children.isEmpty)
        kill(children.last!, SIGKILL)
        let stopBy = Date().addingTimeInterval(300)
        while job.isRunning && Date() < stopBy { Thread.sleep(forTimeInterval: 0.05) }
        if job.isRunning { job.terminate() }
        #expect(!job.isRunning || job.terminationStatus != 0)
        job.waitUntilExit()
        #expect(job.terminationStatus != 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("signal 9") || text.contains("Killed") || text.contains("exited on signal"), "\(text.suffix(800))")
    }

    /// Whether this machine lets us create network namespaces (root with CAP_NET_ADMIN, `ip` installed).
    static let canCreateNamespaces: Bool = {
        guard mpirun != nil, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else { return false }
        let name = "dsllm-probe-\(getpid())"
        func ip(_ args: [String]) -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["ip"] + args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return -1 }
            p.waitUntilExit()
            return p.terminationStatus
        }
        guard ip(["netns", "add", name]) == 0 else { return false }
        _ = ip(["netns", "del", name])
        return true
    }()

    /// Two "hosts": ranks in two network namespaces joined by a veth pair, TCP only (e2e/mpi/two-namespaces.sh).
    @Test(.enabled(if: canCreateNamespaces, "needs root with CAP_NET_ADMIN to create network namespaces"))
    func ranksInTwoNetworkNamespacesMatchOneProcess() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-netns-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("e2e/mpi/two-namespaces.sh").path, TrainResumeTests.binary().path, work.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && out.contains("losses equal to one process"), "\(out.suffix(1500))")
    }
}
