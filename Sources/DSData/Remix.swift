import DSFormats
import Foundation

/// `dsllm data remix --weights domain=w,...`: each listed domain is up- or down-sampled so that it makes up
/// w / Σw of the output's bytes (the output is as large as the listed domains' input unless `totalBytes` is
/// given). A document of a domain with factor f is written ⌊f⌋ times plus once more with probability f − ⌊f⌋,
/// decided by a hash of (seed, id, copy): the same seed gives the same output. Repeated copies get ids
/// `id#2`, `id#3`, …. Domains not listed are dropped and counted.
public enum Remix {
    public static func parseWeights(_ spec: String) throws(FormatError) -> [String: Double] {
        var out: [String: Double] = [:]
        for item in spec.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let w = Double(kv[1].trimmingCharacters(in: .whitespaces)), w >= 0, w.isFinite else {
                throw FormatError(file: "--weights", field: String(item), message: "expected domain=weight with weight ≥ 0")
            }
            out[kv[0].trimmingCharacters(in: .whitespaces)] = w
        }
        guard !out.isEmpty, out.values.reduce(0, +) > 0 else { throw FormatError(file: "--weights", message: "no positive weight given") }
        return out
    }

    /// Bytes and documents per domain (one pass).
    public static func domainSizes(_ store: String) throws -> [String: (documents: Int, bytes: Int)] {
        var sizes: [String: (documents: Int, bytes: Int)] = [:]
        try DocumentStore.forEachBatch(store) { batch in
            for d in batch {
                let s = sizes[d.domain, default: (0, 0)]
                sizes[d.domain] = (s.documents + 1, s.bytes + d.text.utf8.count)
            }
        }
        return sizes
    }

    /// Uniform in [0, 1) from (seed, id, copy).
    static func unit(seed: UInt64, id: String, copy: Int) -> Double {
        var s = "\(seed)\u{1}\(id)\u{1}\(copy)"
        let h = s.withUTF8 { TextHash.hash64(UnsafeRawBufferPointer($0), seed: 0x5851_f42d_4c95_7f2d) }
        return Double(h >> 11) * 0x1p-53
    }

    public static func run(input: String, output: String, weights: [String: Double], seed: UInt64, totalBytes: Int? = nil,
                           showProgress: Bool = true) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "remix")
        let sizes = try domainSizes(input)
        for name in weights.keys where sizes[name] == nil {
            throw FormatError(file: input, field: name, message: "--weights names a domain the store does not have (it has \(sizes.keys.sorted()))")
        }
        let listedBytes = weights.keys.reduce(0) { $0 + sizes[$1]!.bytes }
        let total = Double(totalBytes ?? listedBytes), sum = weights.values.reduce(0, +)
        var factor: [String: Double] = [:]
        for (name, w) in weights { factor[name] = sizes[name]!.bytes > 0 ? total * w / sum / Double(sizes[name]!.bytes) : 0 }
        var outSizes: [String: (documents: Int, bytes: Int)] = [:]
        let counts = try DocumentStore.stream(input, to: output, stage: "remix", showProgress: showProgress) { batch, writer in
            for d in batch {
                guard let f = factor[d.domain] else {
                    report.add("dropped_unlisted_domain")
                    continue
                }
                var copies = Int(f.rounded(.down))
                if unit(seed: seed, id: d.id, copy: copies) < f - Double(copies) { copies += 1 }
                for c in 0..<copies {
                    var e = d
                    if c > 0 { e.id = "\(d.id)#\(c + 1)" }
                    try writer.append(e)
                }
                let s = outSizes[d.domain, default: (0, 0)]
                outSizes[d.domain] = (s.documents + copies, s.bytes + copies * d.text.utf8.count)
            }
        }
        (report["documents_in"], report["documents_out"]) = counts
        report["seed"] = Int(truncatingIfNeeded: seed)
        let outTotal = max(1, outSizes.values.reduce(0) { $0 + $1.bytes })
        let inTotal = max(1, sizes.values.reduce(0) { $0 + $1.bytes })
        report.tables.append(("Domains", ["domain", "weight", "factor", "documents in", "bytes in", "share in", "documents out", "bytes out", "share out"],
                              sizes.keys.sorted().map { name in
            let i = sizes[name]!, o = outSizes[name, default: (0, 0)]
            return [name.isEmpty ? "(none)" : name, weights[name].map { String(format: "%g", $0) } ?? "—",
                    factor[name].map { String(format: "%.3f", $0) } ?? "dropped", "\(i.documents)", "\(i.bytes)",
                    String(format: "%.1f%%", 100 * Double(i.bytes) / Double(inTotal)), "\(o.documents)", "\(o.bytes)",
                    String(format: "%.1f%%", 100 * Double(o.bytes) / Double(outTotal))]
        }))
        report.seconds = Date().timeIntervalSince(start)
        try report.write(to: output)
        return report
    }
}
