import ArgumentParser
import DSFormats
import DSModel
import DSScaling
import Foundation

/// `dsllm scaling …`: the paper's scaling-law formulas and fits.
struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "DeepSeek LLM scaling laws: FLOPs per token, optimal hyperparameters and allocation, fits.",
        subcommands: [ScalingFlops.self, ScalingHparams.self, ScalingAllocate.self, ScalingSweep.self, ScalingFitCommand.self, ScalingPlot.self])
}

func scientific(_ x: Double) -> String { String(format: "%.3g", x) }

struct ScalingFlops: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flops", abstract: "M, 6N1 and 6N2 of a model (the paper's Table 3 columns).")
    @Option(help: "Model preset — or use --config.") var preset: PaperModelPreset?
    @Option(help: "An HF config.json.") var config: String?
    @Option(help: "Sequence length l_seq.") var seqLen = 4096

    func run() throws {
        let c: ModelConfig
        if let preset { c = preset.config }
        else if let config { do { c = try ModelConfig.load(configJSON: config) } catch { throw CLIError(error.description) } }
        else { throw CLIError("give --preset or --config") }
        let m = ScalingLaws.flopsPerToken(layers: c.layerCount, width: c.hiddenSize, sequence: seqLen)
        let n1 = ScalingLaws.sixN1(layers: c.layerCount, width: c.hiddenSize)
        let n2 = ScalingLaws.sixN2(layers: c.layerCount, width: c.hiddenSize, vocabulary: c.vocabularySize)
        print("| n_layer | d_model | N1 | N2 | M | 6N1/M | 6N2/M |\n|---|---|---|---|---|---|---|")
        print("| \(c.layerCount) | \(c.hiddenSize) | \(scientific(n1 / 6)) | \(scientific(n2 / 6)) | \(scientific(m)) | \(String(format: "%.2f", n1 / m)) | \(String(format: "%.2f", n2 / m)) |")
        print("(actual parameters: \(c.parameterCount); M counts 72·L·d², which ignores GQA and the SwiGLU width)")
    }
}

struct ScalingHparams: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hparams", abstract: "Near-optimal learning rate and batch size for a compute budget (Eq. 1).")
    @Option(help: "Compute budget C in FLOPs (e.g. 1e20).") var compute: Double
    @Option(help: "Sequence length, to express the batch in sequences.") var seqLen = 4096

    func run() throws {
        guard compute > 0 else { throw CLIError("--compute must be positive") }
        let eta = ScalingLaws.optimalLearningRate(compute: compute), b = ScalingLaws.optimalBatchTokens(compute: compute)
        print("C = \(scientific(compute)) FLOPs: η_opt = \(scientific(eta)) (0.3118·C^−0.1250), B_opt = \(scientific(b)) tokens (0.2920·C^0.3271) ≈ \(Int((b / Double(seqLen)).rounded())) sequences of \(seqLen)")
        if !(1e17...2e19).contains(compute) { print("note: outside the range the fit was made on (1e17–2e19 FLOPs): an extrapolation") }
    }
}

struct ScalingAllocate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allocate", abstract: "Compute-optimal model scale and data (Eq. 4), and a model shape.")
    @Option(help: "Compute budget C in FLOPs.") var compute: Double
    @Option(help: "Data quality whose exponents to use (the paper's Table 4).") var dataQuality: ScalingLaws.DataQuality = .current
    @Option(help: "Sequence length.") var seqLen = 4096

    func run() throws {
        guard compute > 0 else { throw CLIError("--compute must be positive") }
        let (m, d) = ScalingLaws.allocation(compute: compute, quality: dataQuality)
        let s = ScalingLaws.shape(forFlopsPerToken: m, sequence: seqLen)
        let (a, b) = dataQuality.exponents
        print("C = \(scientific(compute)) FLOPs, \(dataQuality.rawValue) data (a = \(a), b = \(b)): M_opt = \(scientific(m)) FLOPs/token, D_opt = \(scientific(d)) tokens")
        print("a model near M_opt: \(s.layers) layers × \(s.width) (\(s.width / 128) heads of 128), M = \(scientific(s.m)); train on \(scientific(compute / s.m)) tokens")
        print("hyperparameters: η_opt = \(scientific(ScalingLaws.optimalLearningRate(compute: compute))), B_opt = \(scientific(ScalingLaws.optimalBatchTokens(compute: compute))) tokens")
        if dataQuality != .current { print("note: the paper gives only the exponents for \(dataQuality.rawValue) data; the coefficient is anchored to the current-data fit at C = 1e19") }
        if !ScalingLaws.fittedRange.contains(compute) { print("note: outside the fitted range (1e17–3e20 FLOPs): an extrapolation") }
    }
}

struct ScalingFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit the laws to runs: JSONL with compute, m (FLOPs/token), tokens, loss, and lr/batch for the hyperparameter grid.")
    @Argument(help: "Runs, one JSON object per line.") var runs: String

    func run() throws {
        guard let text = try? String(contentsOfFile: runs, encoding: .utf8) else { throw CLIError("\(runs): cannot read") }
        var rows: [(c: Double, m: Double, loss: Double, lr: Double?, batch: Double?)] = []
        for (i, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let v = try? JSONValue.parse(Array(line.utf8)), let c = v["compute"]?.double, let l = v["loss"]?.double else {
                throw CLIError("\(runs):\(i + 1): expected {\"compute\", \"loss\", ...}")
            }
            // Sweep results tag their grid: IsoFLOP runs ("isoflop") feed the allocation fit, the others the hyperparameter fit.
            let kind = v["kind"]?.string
            rows.append((c, kind == "hparams" ? 0 : v["m"]?.double ?? 0, l, kind == "isoflop" ? nil : v["lr"]?.double,
                         kind == "isoflop" ? nil : v["batch"]?.double))
        }
        let budgets = Set(rows.map(\.c)).sorted()
        var minima: [(c: Double, m: Double, loss: Double)] = []
        var hp: [(c: Double, lr: Double, batch: Double)] = []
        for c in budgets {
            let here = rows.filter { $0.c == c }
            let ms = here.filter { $0.m > 0 }
            if Set(ms.map(\.m)).count >= 3 {
                let lo = ms.map(\.m).min()!, hi = ms.map(\.m).max()!
                if let v = ScalingFit.isoFLOPMinimum(ms.map(\.m), loss: ms.map(\.loss)), v.x >= lo, v.x <= hi {
                    minima.append((c, v.x, v.loss))
                    print("C = \(scientific(c)): IsoFLOP minimum at M = \(scientific(v.x)) (loss \(String(format: "%.4f", v.loss)))")
                } else {
                    // A vertex outside the grid (or a concave fit) is an extrapolation, not a measured optimum.
                    let best = ms.min { $0.loss < $1.loss }!
                    print("C = \(scientific(c)): no interior IsoFLOP minimum (best run at M = \(scientific(best.m)), \(best.m == lo ? "the smallest in the" : best.m == hi ? "the largest in the" : "inside the") grid): excluded from the fit; widen the grid")
                }
            }
            let grid = here.compactMap { r in r.lr.flatMap { lr in r.batch.map { ((lr, $0), r.loss) } } }
            let near = ScalingFit.nearOptimal(grid)
            if !near.isEmpty {
                let lr = exp(near.map { log($0.0) }.reduce(0, +) / Double(near.count)), b = exp(near.map { log($0.1) }.reduce(0, +) / Double(near.count))
                hp.append((c, lr, b))
                print("C = \(scientific(c)): \(near.count) near-optimal (lr, batch) within 0.25%: geometric mean lr \(scientific(lr)), batch \(scientific(b))")
            }
        }
        func report(_ name: String, _ x: [Double], _ y: [Double], paper: String) {
            guard Set(x).count >= 2 else { return }
            let f = ScalingFit.powerLaw(x, y), ci = ScalingFit.bootstrapExponent(x, y)
            print("\(name) = \(scientific(f.coefficient))·C^\(String(format: "%.4f", f.exponent))  (95% bootstrap: \(String(format: "%.3f", ci.low))…\(String(format: "%.3f", ci.high)); paper: \(paper))")
        }
        report("M_opt", minima.map(\.c), minima.map(\.m), paper: "0.1715·C^0.5243")
        report("D_opt", minima.map(\.c), minima.map { $0.c / $0.m }, paper: "5.8316·C^0.4757")
        report("η_opt", hp.map(\.c), hp.map(\.lr), paper: "0.3118·C^−0.1250")
        report("B_opt", hp.map(\.c), hp.map(\.batch), paper: "0.2920·C^0.3271")
    }
}
