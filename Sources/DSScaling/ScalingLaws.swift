import Foundation

/// DeepSeek LLM's scaling laws (arXiv 2401.02954 §3): model scale as non-embedding FLOPs per token M, near-optimal
/// hyperparameters and compute-optimal allocation as power laws of the compute budget C = M·D (FLOPs).
public enum ScalingLaws {
    /// M = 72·n_layer·d_model² + 12·n_layer·d_model·l_seq (attention included, vocabulary excluded).
    public static func flopsPerToken(layers: Int, width: Int, sequence: Int) -> Double {
        let l = Double(layers), d = Double(width)
        return 72 * l * d * d + 12 * l * d * Double(sequence)
    }

    /// 6·N1 = 72·n_layer·d_model² (non-embedding parameters) and 6·N2 = 6·N1 + 6·n_vocab·d_model (all).
    public static func sixN1(layers: Int, width: Int) -> Double { 72 * Double(layers) * Double(width) * Double(width) }
    public static func sixN2(layers: Int, width: Int, vocabulary: Int) -> Double {
        sixN1(layers: layers, width: width) + 6 * Double(vocabulary) * Double(width)
    }

    /// η_opt = 0.3118·C^−0.1250 and B_opt = 0.2920·C^0.3271 (tokens), fitted on 1e17 … 2e19 (Eq. 1).
    public static func optimalLearningRate(compute c: Double) -> Double { 0.3118 * pow(c, -0.1250) }
    public static func optimalBatchTokens(compute c: Double) -> Double { 0.2920 * pow(c, 0.3271) }

    /// The range the paper's fits cover (hyperparameters 1e17–2e19; allocation 1e17–3e20).
    public static let fittedRange = 1e17...3e20

    public enum DataQuality: String, Sendable, CaseIterable {
        case early, current, owt2
        /// Table 4's exponents a (M_opt ∝ C^a) and b (D_opt ∝ C^b).
        public var exponents: (a: Double, b: Double) {
            switch self {
            case .early: return (0.450, 0.550)
            case .current: return (0.5243, 0.4757)
            case .owt2: return (0.578, 0.422)
            }
        }
    }

    /// M_opt = 0.1715·C^0.5243, D_opt = 5.8316·C^0.4757 for the current data (Eq. 4). The paper publishes only the
    /// exponents for the other datasets: their coefficients here are anchored to meet the current-data fit at
    /// C = 1e19 (the middle of the fitted range, in log space) with M·D = C — an assumption, stated in the output.
    public static func allocation(compute c: Double, quality: DataQuality = .current) -> (m: Double, d: Double) {
        if quality == .current { return (0.1715 * pow(c, 0.5243), 5.8316 * pow(c, 0.4757)) }
        let anchor = 1e19, mAnchor = 0.1715 * pow(anchor, 0.5243)
        let (a, _) = quality.exponents
        let m = mAnchor * pow(c / anchor, a)
        return (m, c / m)
    }

    /// A DeepSeek-shaped model (width a multiple of 128, heads of 128, FFN ≈ 8/3·width rounded to 128) whose M is
    /// closest to `target` with width/layers nearest `aspect` (the 7B has 4096/30 ≈ 137, the 67B 8192/95 ≈ 86).
    public static func shape(forFlopsPerToken target: Double, sequence: Int = 4096, aspect: Double = 128) -> (layers: Int, width: Int, m: Double) {
        var best: (layers: Int, width: Int, m: Double, score: Double)?
        for layers in 1...160 {
            for width in stride(from: 128, through: 16384, by: 128) {
                let m = flopsPerToken(layers: layers, width: width, sequence: sequence)
                let miss = abs(log(m / target))
                guard miss < 0.1 else { continue }
                let score = miss + 0.5 * abs(log(Double(width) / Double(layers) / aspect))
                if best == nil || score < best!.score { best = (layers, width, m, score) }
            }
        }
        if let b = best { return (b.layers, b.width, b.m) }
        return (1, 128, flopsPerToken(layers: 1, width: 128, sequence: sequence))
    }
}
