import ArgumentParser
import DSFormats
import DSScaling
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

    func run() throws {
        guard let data = FileManager.default.contents(atPath: plan), let p = try? JSONValue.parse(Array(data)) else {
            throw CLIError("\(plan): not a JSON-syntax YAML document")
        }
        let sweep: SweepPlan
        do { sweep = try SweepPlan(plan: p, source: plan) } catch { throw CLIError("\(error)") }
        do { try RunFolder.prepare(sweep.out, intent: try RunFolder.intent(resume: resume, overwrite: overwrite)) } catch {
            throw CLIError("\(plan): \(error)")
        }
        let todo = sweep.pendingRuns()
        print("sweep: \(sweep.runs.count) runs, \(sweep.runs.count - todo.count) already done, \(jobs) at a time")
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let start = Date()
        let failures = sweep.execute(todo, binary: binary, jobs: jobs, threads: threads) { r in
            print(String(format: "%@  %d×%d  M %.3g  %d steps × %d tokens  lr %.3g  val loss %.4f  (%.0f s)", r.run.kind, r.run.layers, r.run.width,
                         r.flopsPerToken, r.steps, r.run.batchTokens, r.run.lr, r.validationLoss, r.seconds))
        }
        print(String(format: "sweep done in %.0f s; results: %@", Date().timeIntervalSince(start), sweep.resultsPath))
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
