import DSFormats
import Foundation

/// What a `dsllm data` stage did: ordered counters (documents in/out, drops per reason, bad input), examples
/// per reason for inspection, and timings — written next to the output as report.json and report.md.
public struct StageReport: Sendable {
    public var stage: String
    public var counters: [(name: String, value: Int)] = []
    public var notes: [String] = []
    public var examples: [String: [String]] = [:]
    public var tables: [(title: String, header: [String], rows: [[String]])] = []
    public var seconds: Double = 0
    public var maxExamples = 5

    public init(stage: String) { self.stage = stage }

    public subscript(_ name: String) -> Int {
        get { counters.first { $0.name == name }?.value ?? 0 }
        set {
            if let i = counters.firstIndex(where: { $0.name == name }) { counters[i].value = newValue }
            else { counters.append((name, newValue)) }
        }
    }

    public mutating func add(_ name: String, _ n: Int = 1) { self[name] += n }

    /// Keeps the first few examples of a reason (a location or a snippet of the dropped text).
    public mutating func example(_ reason: String, _ text: @autoclosure () -> String) {
        if examples[reason, default: []].count < maxExamples { examples[reason, default: []].append(text()) }
    }

    public var json: String {
        var s = "{\n  \"stage\": \(jsonQuoted(stage)),\n  \"seconds\": \(String(format: "%.3f", seconds)),\n  \"counters\": {"
        s += counters.map { "\n    \(jsonQuoted($0.name)): \($0.value)" }.joined(separator: ",") + "\n  },\n  \"examples\": {"
        s += examples.keys.sorted().map { k in
            "\n    \(jsonQuoted(k)): [" + examples[k]!.map { jsonQuoted($0) }.joined(separator: ", ") + "]"
        }.joined(separator: ",") + "\n  },\n  \"tables\": ["
        s += tables.map { t in
            "\n    {\"title\": \(jsonQuoted(t.title)), \"header\": [" + t.header.map { jsonQuoted($0) }.joined(separator: ", ") + "], \"rows\": ["
                + t.rows.map { "[" + $0.map { jsonQuoted($0) }.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]}"
        }.joined(separator: ",")
        s += "\n  ],\n  \"notes\": [" + notes.map { jsonQuoted($0) }.joined(separator: ", ") + "]\n}\n"
        return s
    }

    public var markdown: String {
        var s = "# dsllm data \(stage)\n\n" + String(format: "%.1f s\n\n", seconds) + "| counter | value |\n|---|---:|\n"
        for c in counters { s += "| \(c.name) | \(c.value) |\n" }
        for t in tables {
            s += "\n## \(t.title)\n\n| " + t.header.joined(separator: " | ") + " |\n|" + t.header.map { _ in "---" }.joined(separator: "|") + "|\n"
            for r in t.rows { s += "| " + r.joined(separator: " | ") + " |\n" }
        }
        if !examples.isEmpty {
            s += "\n## Examples\n"
            for k in examples.keys.sorted() {
                s += "\n### \(k)\n\n"
                for e in examples[k]! { s += "- `" + e.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "`", with: "'") + "`\n" }
            }
        }
        if !notes.isEmpty { s += "\n" + notes.map { "- \($0)" }.joined(separator: "\n") + "\n" }
        return s
    }

    /// Writes report.json and report.md into `directory`, atomically.
    public func write(to directory: String) throws {
        try writeAtomically(Data(json.utf8), to: (directory as NSString).appendingPathComponent("report.json"))
        try writeAtomically(Data(markdown.utf8), to: (directory as NSString).appendingPathComponent("report.md"))
    }
}

/// A progress line on stderr: redrawn in place on a terminal, one line every 10 s otherwise (logs stay short).
public final class ProgressLine: @unchecked Sendable {
    let label: String
    let total: Int?
    let start = Date()
    var last = Date.distantPast
    let tty = isatty(2) != 0
    public var enabled = true

    public init(_ label: String, total: Int? = nil) {
        self.label = label
        self.total = total
    }

    public func update(_ done: Int, unit: String = "docs", force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(last) >= (tty ? 0.2 : 10) else { return }
        last = now
        let rate = Double(done) / max(now.timeIntervalSince(start), 1e-9)
        var s = "\(label): \(done)"
        if let total, total > 0 {
            let f = min(1, Double(done) / Double(total))
            let bar = String(repeating: "█", count: Int(f * 24)) + String(repeating: "·", count: 24 - Int(f * 24))
            s = "\(label) [\(bar)] \(done)/\(total)"
        }
        s += String(format: " %@  %.0f %@/s", unit, rate, unit)
        FileHandle.standardError.write(Data(((tty ? "\r\u{1b}[K" : "") + s + (tty ? "" : "\n")).utf8))
    }

    public func finish(_ done: Int, unit: String = "docs") {
        update(done, unit: unit, force: true)
        if tty && enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
