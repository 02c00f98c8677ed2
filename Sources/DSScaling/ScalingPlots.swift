import Foundation

/// SVG figures in the style of the paper's: Figure 3 (loss over batch × learning rate), Figure 4 (IsoFLOP curves
/// with their minima), Figure 5 (loss against compute with the fitted power law).
public enum ScalingPlots {
    public struct Run: Sendable {
        public var compute: Double, m: Double, loss: Double, lr: Double?, batch: Double?
        public init(compute: Double, m: Double, loss: Double, lr: Double? = nil, batch: Double? = nil) {
            (self.compute, self.m, self.loss, self.lr, self.batch) = (compute, m, loss, lr, batch)
        }
    }

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// A log-x (and optionally log-y) frame; `series` are (label, color, points, draw line).
    static func chart(title: String, xLabel: String, yLabel: String, logY: Bool,
                      series: [(label: String, color: String, points: [(Double, Double)], line: Bool)]) -> String {
        let w = 720.0, h = 440.0, l = 70.0, r = 160.0, t = 40.0, b = 50.0
        let all = series.flatMap(\.points)
        guard !all.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" }
        let xs = all.map { log10($0.0) }, ys = all.map { logY ? log10($0.1) : $0.1 }
        var (x0, x1, y0, y1) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        if x1 - x0 < 1e-9 { x0 -= 0.5; x1 += 0.5 }
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        let padY = (y1 - y0) * 0.08
        (y0, y1) = (y0 - padY, y1 + padY)
        func px(_ x: Double) -> Double { l + (log10(x) - x0) / (x1 - x0) * (w - l - r) }
        func py(_ y: Double) -> Double { let v = logY ? log10(y) : y; return h - b - (v - y0) / (y1 - y0) * (h - t - b) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"\(l)\" y=\"22\" font-size=\"15\">\(title)</text>\n"
        s += "<rect x=\"\(l)\" y=\"\(t)\" width=\"\(w - l - r)\" height=\"\(h - t - b)\" fill=\"none\" stroke=\"#444\"/>\n"
        for e in Int(x0.rounded(.up))...max(Int(x0.rounded(.up)), Int(x1.rounded(.down))) {
            let x = px(pow(10, Double(e)))
            s += "<line x1=\"\(x)\" y1=\"\(h - b)\" x2=\"\(x)\" y2=\"\(h - b + 5)\" stroke=\"#444\"/><text x=\"\(x - 12)\" y=\"\(h - b + 18)\">1e\(e)</text>\n"
        }
        for k in 0...4 {
            let v = y0 + (y1 - y0) * Double(k) / 4, y = h - b - Double(k) / 4 * (h - t - b)
            s += "<text x=\"8\" y=\"\(y + 4)\">\(String(format: "%.3g", logY ? pow(10, v) : v))</text>\n"
        }
        s += "<text x=\"\(l + (w - l - r) / 2 - 40)\" y=\"\(h - 12)\">\(xLabel)</text>\n"
        s += "<text x=\"14\" y=\"\(t - 8)\">\(yLabel)</text>\n"
        for (i, se) in series.enumerated() {
            let pts = se.points.sorted { $0.0 < $1.0 }
            if se.line && pts.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(se.color)\" stroke-width=\"1.5\" points=\"" + pts.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ") + "\"/>\n"
            } else {
                for p in pts { s += "<circle cx=\"\(px(p.0))\" cy=\"\(py(p.1))\" r=\"3.5\" fill=\"\(se.color)\"/>\n" }
            }
            s += "<rect x=\"\(w - r + 12)\" y=\"\(t + 4 + Double(i) * 18)\" width=\"10\" height=\"10\" fill=\"\(se.color)\"/><text x=\"\(w - r + 28)\" y=\"\(t + 13 + Double(i) * 18)\">\(se.label)</text>\n"
        }
        return s + "</svg>\n"
    }

    /// Figure 4: loss against M for each budget, the fitted parabola in log M, and its minimum.
    public static func isoFLOP(_ runs: [Run]) -> String {
        var series: [(label: String, color: String, points: [(Double, Double)], line: Bool)] = []
        for (i, c) in Set(runs.filter { $0.m > 0 && $0.lr == nil }.map(\.compute)).sorted().enumerated() {
            let here = runs.filter { $0.compute == c && $0.m > 0 && $0.lr == nil }
            let color = palette[i % palette.count]
            series.append((String(format: "C = %.0e", c), color, here.map { ($0.m, $0.loss) }, false))
            if let (c0, c1, c2) = ScalingFit.isoFLOPParabola(here.map(\.m), loss: here.map(\.loss)) {
                // Drawn over the runs it was fitted to: the best one and its neighbours.
                let sorted = here.map(\.m).sorted(), best = here.min { $0.loss < $1.loss }!.m
                let i = sorted.firstIndex(of: best)!
                let lo = sorted[max(0, i - 1)], hi = sorted[min(sorted.count - 1, i + 1)]
                let curve = (0...40).map { k -> (Double, Double) in
                    let x = log10(lo) + (log10(hi) - log10(lo)) * Double(k) / 40
                    return (pow(10, x), c0 + c1 * x + c2 * x * x)
                }
                series.append(("  fit", color, curve, true))
            }
        }
        return chart(title: "IsoFLOP curves (Figure 4)", xLabel: "M (non-embedding FLOPs/token)", yLabel: "validation loss", logY: false, series: series)
    }

    /// Figure 5: each budget's best loss against compute, with a power-law fit of (loss − 0) in log space.
    public static func lossVersusCompute(_ runs: [Run]) -> String {
        let budgets = Set(runs.map(\.compute)).sorted()
        let best = budgets.map { c in (c, runs.filter { $0.compute == c }.map(\.loss).min()!) }
        var series: [(label: String, color: String, points: [(Double, Double)], line: Bool)] = [("best run", palette[0], best, false)]
        if best.count >= 2 {
            let f = ScalingFit.powerLaw(best.map(\.0), best.map(\.1))
            let lo = budgets.first! / 3, hi = budgets.last! * 30
            series.append((String(format: "%.3g·C^%.4f", f.coefficient, f.exponent), palette[1],
                           (0...30).map { k in let c = lo * pow(hi / lo, Double(k) / 30); return (c, f(c)) }, true))
        }
        return chart(title: "Loss against compute (Figure 5)", xLabel: "C (FLOPs)", yLabel: "validation loss", logY: true, series: series)
    }

    /// Figure 3: the learning-rate × batch grid as a heat map (log batch across, log learning rate up), each cell
    /// coloured by its loss (dark = low), its loss printed, and the near-optimal cells (within 0.25% of the
    /// budget's minimum, the paper's region) outlined in red. One panel per budget.
    public static func hyperparameters(_ runs: [Run]) -> String {
        let grid = runs.filter { $0.lr != nil && $0.batch != nil }
        let budgets = Set(grid.map(\.compute)).sorted()
        guard !budgets.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" }
        let panelW = 360.0, panelH = 300.0, l = 70.0, t = 50.0, b = 50.0
        let w = l + Double(budgets.count) * (panelW + 30), h = t + panelH + b
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"\(l)\" y=\"22\" font-size=\"15\">Loss over batch size × learning rate (Figure 3)</text>\n"
        for (k, c) in budgets.enumerated() {
            let here = grid.filter { $0.compute == c }
            let lrs = Set(here.map { $0.lr! }).sorted(), bs = Set(here.map { $0.batch! }).sorted()
            let lo = here.map(\.loss).min()!, hi = here.map(\.loss).max()!
            let x0 = l + Double(k) * (panelW + 30), cw = panelW / Double(bs.count), ch = panelH / Double(lrs.count)
            s += "<text x=\"\(x0)\" y=\"\(t - 8)\">C = \(String(format: "%.0e", c)) FLOPs</text>\n"
            for r in here {
                let i = bs.firstIndex(of: r.batch!)!, j = lrs.firstIndex(of: r.lr!)!
                let f = hi > lo ? (r.loss - lo) / (hi - lo) : 0
                // Dark blue (low loss) to pale yellow (high loss).
                let rgb = (Int(20 + 230 * f), Int(40 + 200 * f), Int(110 + 50 * f))
                let x = x0 + Double(i) * cw, y = t + panelH - Double(j + 1) * ch
                let near = r.loss <= lo * 1.0025
                s += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cw)\" height=\"\(ch)\" fill=\"rgb(\(rgb.0),\(rgb.1),\(rgb.2))\""
                s += near ? " stroke=\"#d62728\" stroke-width=\"3\"/>\n" : " stroke=\"white\"/>\n"
                s += "<text x=\"\(x + cw / 2 - 18)\" y=\"\(y + ch / 2 + 4)\" fill=\"\(f < 0.5 ? "white" : "black")\">\(String(format: "%.3f", r.loss))</text>\n"
            }
            for (i, v) in bs.enumerated() { s += "<text x=\"\(x0 + (Double(i) + 0.5) * cw - 14)\" y=\"\(t + panelH + 16)\">\(String(format: "%.0f", v))</text>\n" }
            if k == 0 { for (j, v) in lrs.enumerated() { s += "<text x=\"8\" y=\"\(t + panelH - (Double(j) + 0.5) * ch + 4)\">\(String(format: "%.0e", v))</text>\n" } }
            s += "<text x=\"\(x0 + panelW / 2 - 50)\" y=\"\(h - 10)\">batch (tokens)</text>\n"
        }
        s += "<text x=\"8\" y=\"\(t - 8)\">lr</text>\n"
        return s + "</svg>\n"
    }
}
