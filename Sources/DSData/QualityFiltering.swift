import DSFormats
import Foundation

/// `dsllm data filter`: the chosen filters in order over a store, all cores; per-rule drop counts, C4's line
/// removals, and a few dropped documents per rule in the report for inspection.
public enum QualityFiltering {
    public struct Decision: Sendable {
        public var reason: String?      // nil: kept
        public var filter: QualityFilterKind?
        public var text: String         // possibly rewritten by C4
        public var lineDrops: [String: Int] = [:]
    }

    public static func decide(_ text: String, filters: [QualityFilterKind], disabled: Set<String>) -> Decision {
        var d = Decision(reason: nil, filter: nil, text: text)
        var words: [String]?
        var quality = GopherQuality(), repetition = GopherRepetition(), c4 = C4LineFilter()
        quality.disabled = disabled; repetition.disabled = disabled; c4.disabled = disabled
        for f in filters {
            switch f {
            case .gopherQuality:
                if words == nil { words = EnglishWordTokenizer.shared.words(d.text) }
                if let r = quality.reason(d.text, words: words!) { d.reason = r; d.filter = f; return d }
            case .gopherRepetition:
                if words == nil { words = EnglishWordTokenizer.shared.words(d.text) }
                if let r = repetition.reason(d.text, words: words!) { d.reason = r; d.filter = f; return d }
            case .c4:
                let (r, t) = c4.apply(d.text, lineDrops: &d.lineDrops)
                if let r { d.reason = r; d.filter = f; return d }
                if t! != d.text { d.text = t!; words = nil }
            }
        }
        return d
    }

    public static func run(input: String, output: String, filters: [QualityFilterKind], disabled: Set<String>,
                           showProgress: Bool = true) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "filter")
        var rewritten = 0
        var drops: [String: Int] = [:], lineDrops: [String: Int] = [:]
        let counts = try DocumentStore.stream(input, to: output, stage: "filter", showProgress: showProgress, batchSize: 2048) { batch, writer in
            let decisions = parallelMap(batch, chunk: 8) { decide($0.text, filters: filters, disabled: disabled) }
            for (doc, d) in zip(batch, decisions) {
                for (k, v) in d.lineDrops { lineDrops[k, default: 0] += v }
                if let r = d.reason {
                    drops[r, default: 0] += 1
                    report.example(r, "\(doc.id): \(doc.text.prefix(120))")
                } else {
                    var e = doc
                    if d.text != doc.text { e.text = d.text; rewritten += 1 }
                    try writer.append(e)
                }
            }
        }
        (report["documents_in"], report["documents_out"]) = counts
        let done = report["documents_in"]
        report["documents_rewritten_by_c4"] = rewritten
        var rows: [[String]] = []
        for f in filters {
            let reasons = f == .gopherQuality ? GopherQuality.reasons : f == .gopherRepetition ? GopherRepetition.reasons : C4LineFilter.reasons
            for r in reasons {
                report["dropped: \(r)"] = drops[r, default: 0]
                rows.append([f.rawValue, r, disabled.contains(r) ? "off" : "on", "\(drops[r, default: 0])",
                             String(format: "%.2f%%", 100 * Double(drops[r, default: 0]) / Double(max(done, 1)))])
            }
            if f == .c4 {
                for r in C4LineFilter.lineRules {
                    report["lines removed: \(r)"] = lineDrops[r, default: 0]
                    rows.append(["c4 (lines)", r, disabled.contains(r) ? "off" : "on", "\(lineDrops[r, default: 0])", "—"])
                }
            }
        }
        report.tables.append(("Drops per rule (first failing rule of each document)", ["filter", "rule", "state", "dropped", "share"], rows))
        report.seconds = Date().timeIntervalSince(start)
        try report.write(to: output)
        return report
    }
}
