import DSFormats
import DSTraining
import Foundation

/// `dsllm scaling sweep`: an IsoFLOP grid and a learning-rate × batch grid of real `dsllm train` runs (§3 of the
/// paper, at small scale). Each run is a DeepSeek-shaped model (layers, width; heads of 32; FFN 8/3·width) trained on
/// tokens = C / M with the multistep schedule; its final validation loss is appended to OUT/results.jsonl, so a
/// sweep continues where it stopped (runs already there are skipped, an interrupted run resumes from its checkpoint).
public struct SweepPlan: Sendable {
    /// One run of the grid.
    public struct Run: Sendable, Equatable {
        public var kind: String                 // "isoflop" or "hparams"
        public var compute: Double              // C, FLOPs
        public var layers: Int
        public var width: Int
        public var lr: Double
        public var batchTokens: Int
        /// The run's identity in results.jsonl.
        public var key: String { "\(kind):\(compute):\(layers)x\(width):\(lr):\(batchTokens)" }
    }

    /// A finished run: its final validation and training loss.
    public struct Result: Sendable {
        public var run: Run
        public var flopsPerToken: Double        // M
        public var steps: Int
        public var validationLoss: Double
        public var trainLoss: Double
        public var seconds: Double
    }

    /// A plan that cannot be run; the message names the plan file.
    public struct PlanError: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    public var data: [String]
    public var validationData: [String]
    public var vocabularySize: Int
    public var sequenceLength: Int
    public var validationBatches: Int
    public var out: String
    public var runs: [Run]

    /// The plan: YAML in JSON syntax (see `dsllm scaling sweep --help`). `source` names the file in errors.
    public init(plan p: JSONValue, source plan: String) throws {
        guard let shards = p["data"]?.array?.compactMap(\.string), !shards.isEmpty else { throw PlanError("\(plan): \"data\" (shard list) is required") }
        data = shards
        validationData = p["val_data"]?.array?.compactMap(\.string) ?? shards
        vocabularySize = p["vocab_size"]?.int ?? 102400
        let seq = p["seq_len"]?.int ?? 128
        sequenceLength = seq
        validationBatches = p["val_batches"]?.int ?? 8
        out = p["out"]?.string ?? "sweep"
        var runs: [Run] = []
        func shape(_ v: JSONValue?) -> (Int, Int)? {
            guard let a = v?.array, a.count == 2, let l = a[0].int, let w = a[1].int, l > 0, w % 32 == 0 else { return nil }
            return (l, w)
        }
        func batch(_ c: Double) -> Int { max(seq, Int(ScalingLaws.optimalBatchTokens(compute: c) / Double(seq)) * seq) }
        // The learning rate of IsoFLOP runs: the paper's η_opt(C) unless the plan gives its own law, "lr_law":
        // [coefficient, exponent] — the paper's method is to fit η_opt at small scale first and use that fit (§3.2).
        var lrLaw: (Double) -> Double = { ScalingLaws.optimalLearningRate(compute: $0) }
        if let law = p["lr_law"] {
            guard let a = law.array?.compactMap(\.double), a.count == 2, a[0] > 0 else { throw PlanError("\(plan): lr_law is [coefficient, exponent]") }
            lrLaw = { a[0] * pow($0, a[1]) }
        }
        // "isoflop" is one {budgets, shapes} grid or a list of them (larger budgets need not rerun the smallest shapes).
        let groups = p["isoflop"].map { $0.array ?? [$0] } ?? []
        for iso in groups {
            for c in iso["budgets"]?.array?.compactMap(\.double) ?? [] {
                for s in iso["shapes"]?.array ?? [] {
                    guard let (l, w) = shape(s) else { throw PlanError("\(plan): isoflop shapes are [layers, width] with width a multiple of 32") }
                    runs.append(Run(kind: "isoflop", compute: c, layers: l, width: w, lr: lrLaw(c), batchTokens: batch(c)))
                }
            }
        }
        if let hp = p["hparams"], let c = hp["budget"]?.double {
            guard let (l, w) = shape(hp["shape"]) else { throw PlanError("\(plan): hparams.shape is [layers, width]") }
            for lr in hp["lrs"]?.array?.compactMap(\.double) ?? [] {
                for b in hp["batch_tokens"]?.array?.compactMap(\.int) ?? [] {
                    runs.append(Run(kind: "hparams", compute: c, layers: l, width: w, lr: lr, batchTokens: max(seq, b / seq * seq)))
                }
            }
        }
        guard !runs.isEmpty else { throw PlanError("\(plan): no runs (give \"isoflop\" and/or \"hparams\")") }
        self.runs = runs
    }

    public var resultsPath: String { (out as NSString).appendingPathComponent("results.jsonl") }

    /// The runs not yet in results.jsonl.
    public func pendingRuns() -> [Run] {
        let done = Set(((try? String(contentsOfFile: resultsPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            (try? JSONValue.parse(Array(line.utf8)))?["key"]?.string
        })
        return runs.filter { !done.contains($0.key) }
    }

    /// M, non-embedding FLOPs per token of a run's shape at the plan's sequence length.
    public func flopsPerToken(_ r: Run) -> Double { ScalingLaws.flopsPerToken(layers: r.layers, width: r.width, sequence: sequenceLength) }
    /// Optimizer steps: tokens = C / M in steps of the run's batch (at least one).
    public func steps(_ r: Run) -> Int { max(1, Int(r.compute / flopsPerToken(r)) / r.batchTokens) }

    public func folder(_ r: Run) -> String {
        (out as NSString).appendingPathComponent("runs/\(r.kind)-\(String(format: "%.0e", r.compute))-\(r.layers)x\(r.width)-lr\(String(format: "%.0e", r.lr))-b\(r.batchTokens)")
    }

    /// The run's HF config.json: heads of 32, FFN 8/3·width rounded up to a multiple of 32.
    public func configJSON(_ r: Run) -> String {
        let heads = max(1, r.width / 32), ffn = max(32, (r.width * 8 / 3 + 31) / 32 * 32)
        return """
            {"architectures": ["LlamaForCausalLM"], "vocab_size": \(vocabularySize), "hidden_size": \(r.width), "intermediate_size": \(ffn),
             "num_hidden_layers": \(r.layers), "num_attention_heads": \(heads), "num_key_value_heads": \(heads),
             "max_position_embeddings": \(sequenceLength), "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}
            """
    }

    /// The `dsllm train` arguments of a run: validation once, at the end; one checkpoint kept.
    public func trainArguments(_ r: Run, config: String, threads: Int) -> [String] {
        let steps = steps(r)
        return ["train", "--config", config, "--data"] + data
            + ["--val-data"] + validationData + ["--val-every", "\(steps)", "--val-batches", "\(validationBatches)", "--seq-len", "\(sequenceLength)",
               "--micro-batch", "\(r.batchTokens / sequenceLength)", "--steps", "\(steps)", "--warmup", "\(max(1, min(2000, steps / 10)))",
               "--max-lr", "\(r.lr)", "--threads", "\(threads)", "--keep", "1", "--out", folder(r)]
    }

    /// results.jsonl's line of a finished run (the grid's own lr/batch keys for "hparams", *_used for "isoflop").
    public func resultLine(_ r: Result) -> String {
        let s = r.run
        let grid = s.kind == "hparams" ? ", \"lr\": \(s.lr), \"batch\": \(s.batchTokens)" : ", \"lr_used\": \(s.lr), \"batch_used\": \(s.batchTokens)"
        return "{\"key\": \(jsonQuoted(s.key)), \"kind\": \"\(s.kind)\", \"compute\": \(s.compute), \"m\": \(r.flopsPerToken), \"tokens\": \(r.steps * s.batchTokens), "
            + "\"layers\": \(s.layers), \"width\": \(s.width)\(grid), \"loss\": \(r.validationLoss), \"train_loss\": \(r.trainLoss), "
            + "\"seconds\": \(String(format: "%.1f", r.seconds))}\n"
    }

    /// Runs `todo` with the `dsllm` executable at `binary`, `jobs` at a time from a shared queue (run times differ by
    /// 10× across shapes), `threads` split between them. Each finished run is appended to results.jsonl and handed to
    /// `onResult` (one at a time); returns the keys of the runs that failed.
    public func execute(_ todo: [Run], binary: String, jobs: Int, threads: Int, onResult: @Sendable (Result) -> Void) -> [String] {
        let lock = NSLock()
        let perJob = max(1, threads / max(1, jobs))
        nonisolated(unsafe) var failed: [String] = []
        nonisolated(unsafe) var next = 0
        DispatchQueue.concurrentPerform(iterations: max(1, jobs)) { _ in
            while true {
                lock.lock()
                let i = next
                next += 1
                lock.unlock()
                guard i < todo.count else { break }
                let s = todo[i]
                guard let result = train(s, binary: binary, threads: perJob) else {
                    lock.lock(); failed.append(s.key); lock.unlock()
                    continue
                }
                lock.lock()
                RunLog.append(resultLine(result), to: resultsPath)
                onResult(result)
                lock.unlock()
            }
        }
        return failed
    }

    /// One run as a `dsllm train` process; nil when it fails or leaves no validation loss.
    func train(_ s: Run, binary: String, threads: Int) -> Result? {
        let dir = folder(s)
        // The config sits beside the run folder: `dsllm train` refuses a non-empty --out it was not told about.
        let configPath = dir + ".config.json"
        try? writeAtomically(Data(configJSON(s).utf8), to: configPath)
        // A run folder left by an interrupted sweep: continue from its checkpoint, or start it again.
        let again: [String] = Checkpoint.list(dir).isEmpty
            ? (((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty ? [] : ["--overwrite"]) : ["--resume"]
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: binary)
        proc.arguments = trainArguments(s, config: configPath, threads: threads) + again
        proc.standardOutput = FileHandle.nullDevice
        proc.standardError = FileHandle.nullDevice
        let t0 = Date()
        guard (try? proc.run()) != nil else { return nil }
        proc.waitUntilExit()
        let metrics = (try? String(contentsOfFile: (dir as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)) ?? ""
        guard proc.terminationStatus == 0, let last = metrics.split(separator: "\n").last,
              let v = try? JSONValue.parse(Array(last.utf8)), let valLoss = v["val_loss"]?.double else { return nil }
        return Result(run: s, flopsPerToken: flopsPerToken(s), steps: steps(s), validationLoss: valLoss, trainLoss: v["loss"]?.double ?? .nan,
                      seconds: Date().timeIntervalSince(t0))
    }
}
