import Foundation

/// The run folder's loss.svg: training loss per step (and validation loss where measured), drawn from
/// metrics.jsonl so it can be regenerated at any time. No dependencies, viewable in any browser.
public enum LossCurve {
    public static func svg(train: [(Int, Double)], validation: [(Int, Double)], title: String) -> String {
        let w = 720.0, h = 360.0, left = 60.0, right = 20.0, top = 30.0, bottom = 40.0
        let all = train.map(\.1) + validation.map(\.1)
        guard let lo = all.min(), let hi = all.max(), let last = (train.map(\.0) + validation.map(\.0)).max() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\"></svg>\n"
        }
        let span = max(hi - lo, 1e-9), steps = Double(max(last, 1))
        func x(_ s: Int) -> Double { left + (w - left - right) * Double(s) / steps }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / span) }
        func points(_ p: [(Int, Double)]) -> String { p.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ") }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(Int(left))\" y=\"18\">\(title.replacingOccurrences(of: "<", with: "&lt;"))</text>\n"
        s += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", left, h - bottom, w - right, h - bottom)
        s += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", left, top, left, h - bottom)
        for i in 0...4 {
            let v = lo + span * Double(i) / 4
            s += String(format: "<text x=\"4\" y=\"%.1f\">%.3f</text>\n", y(v) + 4, v)
        }
        s += String(format: "<text x=\"%.0f\" y=\"%.0f\">step %d</text>\n", w - right - 60, h - 10, last)
        s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points(train))\"/>\n"
        if !validation.isEmpty {
            s += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\" points=\"\(points(validation))\"/>\n"
            s += "<text x=\"\(Int(w - 200))\" y=\"18\" fill=\"#d62728\">validation</text>\n"
        }
        s += "<text x=\"\(Int(w - 120))\" y=\"18\" fill=\"#1f77b4\">train</text>\n</svg>\n"
        return s
    }

    /// A number field of one metrics.jsonl line (the trainer writes them flat: `"key": value`).
    public static func field(_ key: String, in line: Substring) -> Double? {
        guard let r = line.range(of: "\"\(key)\": ") else { return nil }
        return Double(line[r.upperBound...].prefix { $0 != "," && $0 != "}" })
    }

    /// Reads metrics.jsonl (step, loss, and val_loss or eval_loss where present) and writes loss.svg beside it.
    public static func write(metrics path: String, title: String) throws {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var train: [(Int, Double)] = [], val: [(Int, Double)] = []
        for line in text.split(separator: "\n") {
            guard let step = field("step", in: line) else { continue }
            if let l = field("loss", in: line) { train.append((Int(step), l)) }
            if let v = field("val_loss", in: line) ?? field("eval_loss", in: line) { val.append((Int(step), v)) }
        }
        let out = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("loss.svg")
        try Data(svg(train: train, validation: val, title: title).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
    }
}
