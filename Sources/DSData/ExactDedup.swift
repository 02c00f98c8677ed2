import DSFormats
import Foundation

/// `dsllm data dedup --exact`: documents whose normalized text (MinHash's normalization: lowercase, no
/// punctuation, digits → 0, single spaces) was seen before are dropped; the first in store order is kept.
/// The index holds a 128-bit key and a 64-bit dump mask per distinct text (≈ 40 bytes with the table).
public enum ExactDedup {
    public static func run(input: String, output: String, showProgress: Bool = true) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "dedup --exact")
        var seen: [TextHash.Key: UInt64] = [:]
        var dumps = DumpIndex()
        var perDump: [Int: Int] = [:]
        let counts = try DocumentStore.stream(input, to: output, stage: "dedup-exact", showProgress: showProgress) { batch, writer in
            let keys = parallelMap(batch, chunk: 64) { TextHash.key(TextNormalizer.simplify($0.text)) }
            for (d, key) in zip(batch, keys) {
                let dump = dumps.id(d.dump)
                perDump[dump, default: 0] += 1
                let bit: UInt64 = dump < 64 ? 1 << UInt64(dump) : 0
                if let mask = seen[key] {
                    seen[key] = mask | bit
                    report.add("dropped_duplicates")
                    report.example("dropped_duplicates", "\(d.id): \(d.text.prefix(80))")
                } else {
                    seen[key] = bit
                    try writer.append(d)
                }
            }
        }
        (report["documents_in"], report["documents_out"]) = counts
        report["distinct_texts"] = seen.count
        report["index_bytes_estimate"] = seen.count * 40
        report.tables.append(dumps.table(documentsPerDump: perDump) { prefix in
            seen.values.reduce(0) { $0 + ($1 & prefix != 0 ? 1 : 0) }
        })
        report.seconds = Date().timeIntervalSince(start)
        try report.write(to: output)
        return report
    }
}

/// Dumps seen in a store, numbered as met, and the paper's Table 1: the dedup rate when only the first k
/// dumps (in name order) are deduplicated together.
struct DumpIndex {
    var ids: [String: Int] = [:]
    var names: [String] = []

    mutating func id(_ name: String) -> Int {
        if let i = ids[name] { return i }
        ids[name] = names.count
        names.append(name)
        return names.count - 1
    }

    /// `distinctWithin(mask)` counts the distinct documents (texts or clusters) found in the dumps of `mask`.
    func table(documentsPerDump: [Int: Int], distinctWithin: (UInt64) -> Int) -> (title: String, header: [String], rows: [[String]]) {
        let order = names.indices.sorted { names[$0] < names[$1] }
        var rows: [[String]] = []
        var mask: UInt64 = 0, docs = 0
        for (k, i) in order.enumerated() where i < 64 {
            mask |= 1 << UInt64(i)
            docs += documentsPerDump[i, default: 0]
            let kept = distinctWithin(mask)
            let rate = docs > 0 ? 100 * Double(docs - kept) / Double(docs) : 0
            rows.append(["\(k + 1)", names[i].isEmpty ? "(none)" : names[i], "\(docs)", "\(kept)", String(format: "%.1f%%", rate)])
        }
        return ("Dedup rate by number of dumps (the paper's Table 1)", ["dumps used", "last dump added", "documents", "kept", "dedup rate"], rows)
    }
}
