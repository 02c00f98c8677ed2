import DSFormats
@testable import DSScaling
import Foundation
import Testing

/// `dsllm scaling sweep`'s plan: the grid it expands to, each run's folder, steps and `dsllm train` arguments,
/// results.jsonl's lines, and finished runs skipped.
@Suite struct SweepPlanTests {
    static func plan(_ json: String) throws -> SweepPlan {
        try SweepPlan(plan: try JSONValue.parse(Array(json.utf8)), source: "plan.yaml")
    }

    @Test func gridArgumentsAndResults() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-sweep-plan-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try Self.plan("""
            {"data": ["t.bin"], "vocab_size": 512, "seq_len": 32, "out": "\(out)",
             "isoflop": {"budgets": [3e8], "shapes": [[1, 32], [1, 64]]}, "lr_law": [0.1, 0],
             "hparams": {"budget": 3e8, "shape": [1, 32], "lrs": [1e-3], "batch_tokens": [70]}}
            """)
        #expect(p.validationData == ["t.bin"] && p.validationBatches == 8)
        #expect(p.runs.map(\.key) == ["isoflop:300000000.0:1x32:0.1:160", "isoflop:300000000.0:1x64:0.1:160", "hparams:300000000.0:1x32:0.001:64"])
        let iso = p.runs[0]
        #expect(p.flopsPerToken(iso) == 86016 && p.steps(iso) == 21)
        #expect(p.folder(iso) == out + "/runs/isoflop-3e+08-1x32-lr1e-01-b160")
        #expect(p.trainArguments(iso, config: "c.json", threads: 2) == [
            "train", "--config", "c.json", "--data", "t.bin", "--val-data", "t.bin", "--val-every", "21", "--val-batches", "8",
            "--seq-len", "32", "--micro-batch", "5", "--steps", "21", "--warmup", "2", "--max-lr", "0.1", "--threads", "2", "--keep", "1",
            "--out", out + "/runs/isoflop-3e+08-1x32-lr1e-01-b160"])
        let config = try JSONValue.parse(Array(p.configJSON(p.runs[1]).utf8))
        #expect(config["hidden_size"]?.int == 64 && config["num_attention_heads"]?.int == 2 && config["intermediate_size"]?.int == 192)
        let result = SweepPlan.Result(run: p.runs[2], flopsPerToken: 86016, steps: 54, validationLoss: 4.25, trainLoss: 4.5, seconds: 1.25)
        #expect(p.resultLine(result) == """
            {"key": "hparams:300000000.0:1x32:0.001:64", "kind": "hparams", "compute": 300000000.0, "m": 86016.0, "tokens": 3456, \
            "layers": 1, "width": 32, "lr": 0.001, "batch": 64, "loss": 4.25, "train_loss": 4.5, "seconds": 1.2}

            """)
        // Runs already in results.jsonl are skipped.
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(p.resultLine(result).utf8).write(to: URL(fileURLWithPath: p.resultsPath))
        #expect(p.pendingRuns() == Array(p.runs.prefix(2)))
    }

    @Test func badPlansNameTheFile() {
        for (json, message) in [("{}", "\"data\" (shard list) is required"), (#"{"data": ["t"]}"#, "no runs"),
                                (#"{"data": ["t"], "isoflop": {"budgets": [1e9], "shapes": [[1, 30]]}}"#, "width a multiple of 32"),
                                (#"{"data": ["t"], "lr_law": [0.1]}"#, "lr_law is [coefficient, exponent]")] {
            #expect { try Self.plan(json) } throws: { "\($0)".hasPrefix("plan.yaml: ") && "\($0)".contains(message) }
        }
    }
}
