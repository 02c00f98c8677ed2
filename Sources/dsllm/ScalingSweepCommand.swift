import ArgumentParser
import DSFormats
import DSScaling
import DSTraining
import Foundation

/// `dsllm scaling sweep --plan plan.yaml`: IsoFLOP and learning-rate × batch grids of real `dsllm train` runs.
struct ScalingSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run an IsoFLOP grid and a learning-rate × batch grid with dsllm train; resumable.",
        discussion: """
            The plan is YAML in JSON syntax (a JSON object is valid YAML), e.g.
              {"data": ["shards/train-000000.bin"], "val_data": ["shards/val-000000.bin"], "vocab_size": 2048,
               "seq_len": 128, "val_batches": 8, "out": "sweep",
               "isoflop": {"budgets": [1e12, 3e12, 1e13], "shapes": [[1, 64], [2, 64], [2, 128], [4, 128]]},
               "lr_law": [0.0711, -0.125],
               "hparams": {"budget": 3e12, "shape": [2, 96], "lrs": [3e-3, 1e-2, 3e-2], "batch_tokens": [1024, 4096]}}
            Each run: a DeepSeek-shaped model (layers, width; heads of 32; FFN 8/3·width), tokens = C / M, batch and
            learning rate from the paper's laws (unless on the grid, or "lr_law": [k, e] gives η = k·C^e), multistep
            schedule; "isoflop" may also be a list of {budgets, shapes} groups. Each run's final validation loss
            goes to OUT/results.jsonl. An OUT that holds files is refused unless --resume (runs already in results.jsonl \
            are skipped, an interrupted run continues from its checkpoint) or --overwrite (OUT is emptied first).
            """)
    @Option(help: "The plan file.") var plan: String
    @Option(help: "Runs at a time (threads are split between them).") var jobs = 1
    @Option(help: "Threads in all.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Continue the sweep in the plan's out folder (finished runs are skipped).") var resume = false
    @Flag(help: "Replace the sweep in the plan's out folder (its files are removed first).") var overwrite = false

    struct RunSpec {
        var kind: String, compute: Double, layers: Int, width: Int, lr: Double, batchTokens: Int
        var key: String { "\(kind):\(compute):\(layers)x\(width):\(lr):\(batchTokens)" }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: plan), let p = try? JSONValue.parse(Array(data)) else {
            throw CLIError("\(plan): not a JSON-syntax YAML document")
        }
        guard let shards = p["data"]?.array?.compactMap(\.string), !shards.isEmpty else { throw CLIError("\(plan): \"data\" (shard list) is required") }
        let val = p["val_data"]?.array?.compactMap(\.string) ?? shards
        let vocab = p["vocab_size"]?.int ?? 102400, seq = p["seq_len"]?.int ?? 128
        let valBatches = p["val_batches"]?.int ?? 8
        let out = p["out"]?.string ?? "sweep"
        var specs: [RunSpec] = []
        func shape(_ v: JSONValue?) -> (Int, Int)? {
            guard let a = v?.array, a.count == 2, let l = a[0].int, let w = a[1].int, l > 0, w % 32 == 0 else { return nil }
            return (l, w)
        }
        func batch(_ c: Double) -> Int { max(seq, Int(ScalingLaws.optimalBatchTokens(compute: c) / Double(seq)) * seq) }
        // The learning rate of IsoFLOP runs: the paper's η_opt(C) unless the plan gives its own law, "lr_law":
        // [coefficient, exponent] — the paper's method is to fit η_opt at small scale first and use that fit (§3.2).
        var lrLaw: (Double) -> Double = { ScalingLaws.optimalLearningRate(compute: $0) }
        if let law = p["lr_law"] {
            guard let a = law.array?.compactMap(\.double), a.count == 2, a[0] > 0 else { throw CLIError("\(plan): lr_law is [coefficient, exponent]") }
            lrLaw = { a[0] * pow($0, a[1]) }
        }
        // "isoflop" is one {budgets, shapes} grid or a list of them (larger budgets need not rerun the smallest shapes).
        let groups = p["isoflop"].map { $0.array ?? [$0] } ?? []
        for iso in groups {
            for c in iso["budgets"]?.array?.compactMap(\.double) ?? [] {
                for s in iso["shapes"]?.array ?? [] {
                    guard let (l, w) = shape(s) else { throw CLIError("\(plan): isoflop shapes are [layers, width] with width a multiple of 32") }
                    specs.append(RunSpec(kind: "isoflop", compute: c, layers: l, width: w, lr: lrLaw(c), batchTokens: batch(c)))
                }
            }
        }
        if let hp = p["hparams"], let c = hp["budget"]?.double {
            guard let (l, w) = shape(hp["shape"]) else { throw CLIError("\(plan): hparams.shape is [layers, width]") }
            for lr in hp["lrs"]?.array?.compactMap(\.double) ?? [] {
                for b in hp["batch_tokens"]?.array?.compactMap(\.int) ?? [] {
                    specs.append(RunSpec(kind: "hparams", compute: c, layers: l, width: w, lr: lr, batchTokens: max(seq, b / seq * seq)))
                }
            }
        }
        guard !specs.isEmpty else { throw CLIError("\(plan): no runs (give \"isoflop\" and/or \"hparams\")") }
        do { try RunFolder.prepare(out, intent: try RunFolder.intent(resume: resume, overwrite: overwrite)) } catch {
            throw CLIError("\(plan): \(error)")
        }
        let resultsPath = (out as NSString).appendingPathComponent("results.jsonl")
        let done = Set(((try? String(contentsOfFile: resultsPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            (try? JSONValue.parse(Array(line.utf8)))?["key"]?.string
        })
        let todo = specs.filter { !done.contains($0.key) }
        print("sweep: \(specs.count) runs, \(specs.count - todo.count) already done, \(jobs) at a time")
        let lock = NSLock()
        let perJob = max(1, threads / max(1, jobs))
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        var failures: [String] = []
        nonisolated(unsafe) var failed = failures
        let start = Date()
        // A shared queue: each worker takes the next run when it is free (run times differ by 10× across shapes).
        nonisolated(unsafe) var next = 0
        DispatchQueue.concurrentPerform(iterations: max(1, jobs)) { _ in
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                guard i < todo.count else { break }
                let s = todo[i]
                let dir = (out as NSString).appendingPathComponent("runs/\(s.kind)-\(String(format: "%.0e", s.compute))-\(s.layers)x\(s.width)-lr\(String(format: "%.0e", s.lr))-b\(s.batchTokens)")
                let m = ScalingLaws.flopsPerToken(layers: s.layers, width: s.width, sequence: seq)
                let steps = max(1, Int(s.compute / m) / s.batchTokens)
                let heads = max(1, s.width / 32), ffn = max(32, (s.width * 8 / 3 + 31) / 32 * 32)
                let config = """
                    {"architectures": ["LlamaForCausalLM"], "vocab_size": \(vocab), "hidden_size": \(s.width), "intermediate_size": \(ffn),
                     "num_hidden_layers": \(s.layers), "num_attention_heads": \(heads), "num_key_value_heads": \(heads),
                     "max_position_embeddings": \(seq), "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}
                    """
                // The config sits beside the run folder: `dsllm train` refuses a non-empty --out it was not told about.
                let configPath = dir + ".config.json"
                try? writeAtomically(Data(config.utf8), to: configPath)
                // A run folder left by an interrupted sweep: continue from its checkpoint, or start it again.
                let again: [String] = Checkpoint.list(dir).isEmpty
                    ? (((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty ? [] : ["--overwrite"]) : ["--resume"]
                let proc = Process()
                proc.executableURL = URL(fileURLWithPath: binary)
                proc.arguments = ["train", "--config", configPath, "--data"] + shards
                    + ["--val-data"] + val + ["--val-every", "\(steps)", "--val-batches", "\(valBatches)", "--seq-len", "\(seq)",
                       "--micro-batch", "\(s.batchTokens / seq)", "--steps", "\(steps)", "--warmup", "\(max(1, min(2000, steps / 10)))",
                       "--max-lr", "\(s.lr)", "--threads", "\(perJob)", "--keep", "1", "--out", dir] + again
                proc.standardOutput = FileHandle.nullDevice
                proc.standardError = FileHandle.nullDevice
                let t0 = Date()
                guard (try? proc.run()) != nil else { lock.lock(); failed.append(s.key); lock.unlock(); continue }
                proc.waitUntilExit()
                let metrics = (try? String(contentsOfFile: (dir as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)) ?? ""
                guard proc.terminationStatus == 0, let last = metrics.split(separator: "\n").last,
                      let v = try? JSONValue.parse(Array(last.utf8)), let valLoss = v["val_loss"]?.double else {
                    lock.lock(); failed.append(s.key); lock.unlock(); continue
                }
                let grid = s.kind == "hparams" ? ", \"lr\": \(s.lr), \"batch\": \(s.batchTokens)" : ", \"lr_used\": \(s.lr), \"batch_used\": \(s.batchTokens)"
                let line = "{\"key\": \(jsonQuoted(s.key)), \"kind\": \"\(s.kind)\", \"compute\": \(s.compute), \"m\": \(m), \"tokens\": \(steps * s.batchTokens), "
                    + "\"layers\": \(s.layers), \"width\": \(s.width)\(grid), \"loss\": \(valLoss), \"train_loss\": \(v["loss"]?.double ?? .nan), "
                    + "\"seconds\": \(String(format: "%.1f", Date().timeIntervalSince(t0)))}\n"
                lock.lock()
                if let h = FileHandle(forWritingAtPath: resultsPath) ?? { FileManager.default.createFile(atPath: resultsPath, contents: nil); return FileHandle(forWritingAtPath: resultsPath) }() {
                    h.seekToEndOfFile(); h.write(Data(line.utf8)); try? h.close()
                }
                print(String(format: "%@  %d×%d  M %.3g  %d steps × %d tokens  lr %.3g  val loss %.4f  (%.0f s)", s.kind, s.layers, s.width, m, steps,
                             s.batchTokens, s.lr, valLoss, Date().timeIntervalSince(t0)))
                lock.unlock()
            }
        }
        failures = failed
        print(String(format: "sweep done in %.0f s; results: %@", Date().timeIntervalSince(start), resultsPath))
        if !failures.isEmpty { throw CLIError("\(failures.count) runs failed: \(failures.prefix(5))") }
    }
}

struct ScalingPlot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "SVG figures from a sweep's results.jsonl (Figures 3, 4, 5).")
    @Argument(help: "results.jsonl of `scaling sweep`.") var results: String
    @Option(help: "Output directory.") var out: String
    @OptionGroup var output: OverwriteOption

    func run() throws {
        guard let text = try? String(contentsOfFile: results, encoding: .utf8) else { throw CLIError("\(results): cannot read") }
        var runs: [ScalingPlots.Run] = []
        for line in text.split(separator: "\n") {
            guard let v = try? JSONValue.parse(Array(line.utf8)), let c = v["compute"]?.double, let loss = v["loss"]?.double else { continue }
            runs.append(.init(compute: c, m: v["m"]?.double ?? 0, loss: loss, lr: v["lr"]?.double, batch: v["batch"]?.double))
        }
        guard !runs.isEmpty else { throw CLIError("\(results): no runs") }
        try output.prepareFolder(out)
        let iso = runs.filter { $0.lr == nil }
        for (name, svg) in [("isoflop.svg", ScalingPlots.isoFLOP(iso)), ("loss-vs-compute.svg", ScalingPlots.lossVersusCompute(iso)),
                            ("hparams.svg", ScalingPlots.hyperparameters(runs))] {
            try writeAtomically(Data(svg.utf8), to: (out as NSString).appendingPathComponent(name))
            print((out as NSString).appendingPathComponent(name))
        }
    }
}
