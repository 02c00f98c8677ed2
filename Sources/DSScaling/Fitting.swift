import DSTensor
import Foundation

/// Least-squares fits used by the scaling study: power laws in log space, IsoFLOP parabolas, bootstrap intervals.
public enum ScalingFit {
    /// y = k·x^e fitted by ordinary least squares on (log x, log y).
    public struct PowerLaw: Sendable, Equatable {
        public var coefficient: Double
        public var exponent: Double
        public func callAsFunction(_ x: Double) -> Double { coefficient * pow(x, exponent) }
    }

    /// Slope and intercept of y = a + b·x.
    public static func line(_ x: [Double], _ y: [Double]) -> (intercept: Double, slope: Double) {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx) }
        let slope = sxx > 0 ? sxy / sxx : 0
        return (my - slope * mx, slope)
    }

    public static func powerLaw(_ x: [Double], _ y: [Double]) -> PowerLaw {
        let (a, b) = line(x.map { log($0) }, y.map { log($0) })
        return PowerLaw(coefficient: exp(a), exponent: b)
    }

    /// Quadratic least squares y = c0 + c1·x + c2·x² (normal equations, 3×3).
    public static func quadratic(_ x: [Double], _ y: [Double]) -> (c0: Double, c1: Double, c2: Double) {
        var s = [Double](repeating: 0, count: 5), t = [Double](repeating: 0, count: 3)
        for (a, b) in zip(x, y) {
            var p = 1.0
            for k in 0..<5 { s[k] += p; if k < 3 { t[k] += p * b }; p *= a }
        }
        // Solve [[s0 s1 s2][s1 s2 s3][s2 s3 s4]] c = t by Cramer's rule.
        func det(_ m: [[Double]]) -> Double {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        }
        let a = [[s[0], s[1], s[2]], [s[1], s[2], s[3]], [s[2], s[3], s[4]]]
        let d = det(a)
        func replaced(_ col: Int) -> [[Double]] { a.enumerated().map { i, row in row.enumerated().map { j, v in j == col ? t[i] : v } } }
        return (det(replaced(0)) / d, det(replaced(1)) / d, det(replaced(2)) / d)
    }

    /// The minimum of an IsoFLOP curve: a parabola in log10(x) fitted to (x, loss); returns x at the vertex and the loss there.
    public static func isoFLOPMinimum(_ x: [Double], loss: [Double], neighbours: Int = 1) -> (x: Double, loss: Double)? {
        guard let (c0, c1, c2) = isoFLOPParabola(x, loss: loss, neighbours: neighbours), c2 > 0 else { return nil }
        let v = -c1 / (2 * c2)
        return (pow(10, v), c0 + c1 * v + c2 * v * v)
    }

    /// The parabola in log10 M through a budget's best run and its `neighbours` on each side (nil when the best run
    /// is at an end of the grid: no bracketed minimum). Local, because measured IsoFLOP curves are asymmetric: models
    /// far above the optimum get so few steps that they sit on a plateau, which a parabola through all points would
    /// follow instead of the minimum.
    public static func isoFLOPParabola(_ x: [Double], loss: [Double], neighbours: Int = 1) -> (c0: Double, c1: Double, c2: Double)? {
        let order = x.indices.sorted { x[$0] < x[$1] }
        guard order.count >= 3, let b = order.indices.min(by: { loss[order[$0]] < loss[order[$1]] }), b > 0, b < order.count - 1 else { return nil }
        let window = order[max(0, b - neighbours)...min(order.count - 1, b + neighbours)]
        return quadratic(window.map { log10(x[$0]) }, window.map { loss[$0] })
    }

    /// The paper's near-optimal region: points whose loss is within `tolerance` (0.25%) of the minimum.
    public static func nearOptimal<T>(_ points: [(T, Double)], tolerance: Double = 0.0025) -> [T] {
        guard let best = points.map(\.1).min() else { return [] }
        return points.filter { $0.1 <= best * (1 + tolerance) }.map(\.0)
    }

    /// Percentile bootstrap interval of a power-law exponent (resampling the points with replacement, seeded).
    public static func bootstrapExponent(_ x: [Double], _ y: [Double], samples: Int = 1000, level: Double = 0.95,
                                         seed: UInt64 = 1) -> (low: Double, high: Double) {
        var bits = SplitMix64(seed: seed)
        func next() -> UInt64 { bits.next() }
        var exps: [Double] = []
        for _ in 0..<samples {
            var xs: [Double] = [], ys: [Double] = []
            for _ in x.indices {
                let i = Int(next() % UInt64(x.count))
                xs.append(x[i]); ys.append(y[i])
            }
            if Set(xs).count < 2 { continue }
            exps.append(powerLaw(xs, ys).exponent)
        }
        exps.sort()
        guard !exps.isEmpty else { return (.nan, .nan) }
        let lo = Int(Double(exps.count - 1) * (1 - level) / 2), hi = Int(Double(exps.count - 1) * (1 + level) / 2)
        return (exps[lo], exps[hi])
    }
}
