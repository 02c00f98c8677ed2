import DSFormats
import DSTokenizer
import Foundation

/// `dsllm data stats`: documents and bytes (and tokens, given a tokenizer) per domain and dump of a store.
public enum CorpusStats {
    public static func run(stores: [String], tokenizer: Tokenizer?) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "stats")
        for store in stores {
            let m = try DocumentStore.manifest(store)
            var rows: [String: (documents: Int, bytes: Int, tokens: Int)] = [:]
            try DocumentStore.forEachBatch(store) { batch in
                let counts = tokenizer.map { t in parallelMap(batch, chunk: 16) { t.encode($0.text, parseSpecial: false).count } }
                    ?? [Int](repeating: 0, count: batch.count)
                for (d, t) in zip(batch, counts) {
                    for key in ["domain \(d.domain.isEmpty ? "(none)" : d.domain)", "dump \(d.dump.isEmpty ? "(none)" : d.dump)", "all"] {
                        let s = rows[key, default: (0, 0, 0)]
                        rows[key] = (s.documents + 1, s.bytes + d.text.utf8.count, s.tokens + t)
                    }
                }
            }
            report["\(store): documents"] = m.documents
            report["\(store): bytes"] = m.bytes
            report.tables.append(("\(store) (stage \(m.stage))", ["group", "documents", "bytes"] + (tokenizer == nil ? [] : ["tokens"]),
                                  rows.keys.sorted().map { k in
                let s = rows[k]!
                return [k, "\(s.documents)", "\(s.bytes)"] + (tokenizer == nil ? [] : ["\(s.tokens)"])
            }))
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }
}
