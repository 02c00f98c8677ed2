import DSFormats
import Foundation

/// What one optimizer step reports, for pre-training, SFT and DPO alike: one line of metrics.jsonl.
public struct StepRecord: Sendable {
    public var step: Int                        // 1 for the first
    public var loss: Double                     // the step's mean loss, before the update
    public var lr: Float
    public var gradNorm: Float                  // before clipping
    public var tokens: Int                      // tokens trained on so far (SFT: reply tokens; DPO: sequence tokens)
    public var seconds: Double
    public var communicationSeconds: Double?    // in MPI collectives: data parallel only, nil on one rank
    public var metrics: [(String, Double)]      // further named numbers of the step (epoch, rewards/…, logps/…)

    public init(step: Int, loss: Double, lr: Float, gradNorm: Float, tokens: Int, seconds: Double,
                communicationSeconds: Double? = nil, metrics: [(String, Double)] = []) {
        self.step = step
        self.loss = loss
        self.lr = lr
        self.gradNorm = gradNorm
        self.tokens = tokens
        self.seconds = seconds
        self.communicationSeconds = communicationSeconds
        self.metrics = metrics
    }

    /// The metrics.jsonl line (newline included): the fixed fields, comm_seconds under data parallelism, the
    /// step's own metrics, then `measured` (validation / evaluation numbers) in `measuredFormat`. Keys keep this
    /// order and numbers these formats — tests and tools/ parse the lines, and a resumed run must write the
    /// same bytes as an uninterrupted one. Pre-training's val_loss has always been "%.7f", everything else "%.7g".
    public func metricsLine(measured: [(String, Double)] = [], measuredFormat: String = "%.7g") -> String {
        var line = String(format: "{\"step\": %d, \"loss\": %.7f, \"lr\": %.9g, \"grad_norm\": %.7f, \"tokens\": %d, \"seconds\": %.4f",
                          step, loss, lr, gradNorm, tokens, seconds)
        if let communicationSeconds { line += String(format: ", \"comm_seconds\": %.4f", communicationSeconds) }
        for (name, value) in metrics { line += ", \(jsonQuoted(name)): " + String(format: "%.7g", value) }
        for (name, value) in measured { line += ", \(jsonQuoted(name)): " + String(format: measuredFormat, value) }
        return line + "}\n"
    }
}

/// The run folder's line-per-record logs: metrics.jsonl (one line per optimizer step) and samples.jsonl.
public enum RunLog {
    /// Drops metrics lines after `step` (a run killed after writing metrics but before its next checkpoint), so
    /// a resumed run appends exactly the lines an uninterrupted run would have written.
    public static func truncateMetrics(_ path: String, toStep step: Int) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let n = LossCurve.field("step", in: line) else { return false }
            return Int(n) <= step
        }
        try writeAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
    }

    /// A log opened for appending (created when missing).
    public static func openForAppending(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        return handle
    }

    /// samples.jsonl's line for one greedy sample.
    public static func sampleLine(step: Int, prompt: String, text: String) -> String {
        "{\"step\": \(step), \"prompt\": \(jsonQuoted(prompt)), \"text\": \(jsonQuoted(text))}\n"
    }

    /// Appends one line to a log (best effort: a sample that cannot be logged does not stop training).
    public static func append(_ line: String, to path: String) {
        guard let handle = try? openForAppending(path) else { return }
        handle.write(Data(line.utf8))
        try? handle.close()
    }
}
