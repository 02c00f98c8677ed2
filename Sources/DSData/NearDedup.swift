import DSFormats
import Foundation

/// `dsllm data dedup --near`: datatrove's four MinHash stages in one process. (1) signatures of every
/// document, all cores; (2) per band, records sorted by (8 hashes, document) and every record paired with the
/// previous one when their hashes are equal; (3) union–find over the pairs, band 0 to 13; (4) the store again,
/// keeping each cluster's root and every document without a signature (fewer than 5 words).
/// The index holds bands × (rows × 8 + 4) bytes per document (952 with the defaults), in memory.
public enum NearDedup {
    struct BandRecord {
        var h: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        var doc: Int32
    }

    public struct Result: Sendable {
        /// Documents (in store order) dropped, and the root each joined.
        public var removed: [Int32: Int32]
        public var pairs: [(band: Int, a: Int32, b: Int32)]
        public var documents: Int
        public var withSignature: Int
    }

    /// Stages 1–3 over an in-memory list of texts (the test and benchmark entry point) — same as `run` without I/O.
    public static func clusters(texts: [String], config: MinHashConfig, verifyJaccard: Double = 0) -> Result {
        let hasher = MinHasher(config: config)
        var bands = [[BandRecord]](repeating: [], count: config.bands)
        var withSig = 0
        var shingleSets: [Int32: [UInt64]] = [:]
        signatures(texts, base: 0, hasher: hasher, into: &bands, withSignature: &withSig, keepShingles: nil)
        var pairs = candidatePairs(&bands, rows: config.rows)
        if verifyJaccard > 0 {
            let needed = Set(pairs.flatMap { [$0.a, $0.b] })
            for i in needed { shingleSets[i] = Array(Set(hasher.shingles(texts[Int(i)]))).sorted() }
            pairs = pairs.filter { jaccard(shingleSets[$0.a]!, shingleSets[$0.b]!) >= verifyJaccard }
        }
        return Result(removed: cluster(pairs, count: texts.count), pairs: pairs, documents: texts.count, withSignature: withSig)
    }

    static func signatures(_ texts: [String], base: Int, hasher: MinHasher, into bands: inout [[BandRecord]], withSignature: inout Int,
                           keepShingles: ((Int, [UInt64]) -> Void)?) {
        let sigs = parallelMap(texts, chunk: 8) { text -> [UInt64] in
            let sh = hasher.shingles(text)
            return sh.isEmpty ? [] : hasher.signature(sh)
        }
        let r = hasher.config.rows
        for (i, sig) in sigs.enumerated() where !sig.isEmpty {
            withSignature += 1
            for band in 0..<hasher.config.bands {
                let s = band * r
                func v(_ k: Int) -> UInt64 { k < r ? sig[s + k] : 0 }
                bands[band].append(BandRecord(h: (v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7)), doc: Int32(base + i)))
            }
        }
    }

    @inline(__always) static func less(_ x: BandRecord, _ y: BandRecord) -> Bool {
        if x.h.0 != y.h.0 { return x.h.0 < y.h.0 }
        if x.h.1 != y.h.1 { return x.h.1 < y.h.1 }
        if x.h.2 != y.h.2 { return x.h.2 < y.h.2 }
        if x.h.3 != y.h.3 { return x.h.3 < y.h.3 }
        if x.h.4 != y.h.4 { return x.h.4 < y.h.4 }
        if x.h.5 != y.h.5 { return x.h.5 < y.h.5 }
        if x.h.6 != y.h.6 { return x.h.6 < y.h.6 }
        if x.h.7 != y.h.7 { return x.h.7 < y.h.7 }
        return x.doc < y.doc
    }

    @inline(__always) static func sameHashes(_ x: BandRecord, _ y: BandRecord) -> Bool {
        x.h.0 == y.h.0 && x.h.1 == y.h.1 && x.h.2 == y.h.2 && x.h.3 == y.h.3 && x.h.4 == y.h.4 && x.h.5 == y.h.5
            && x.h.6 == y.h.6 && x.h.7 == y.h.7
    }

    /// Stage 2: sort each band (in parallel) and pair consecutive equal records, band by band.
    static func candidatePairs(_ bands: inout [[BandRecord]], rows: Int) -> [(band: Int, a: Int32, b: Int32)] {
        precondition(rows <= 8, "at most 8 rows per band")
        bands = parallelMap(bands, chunk: 1) { $0.sorted(by: less) }
        var pairs: [(band: Int, a: Int32, b: Int32)] = []
        for (k, records) in bands.enumerated() where records.count > 1 {
            for i in 1..<records.count where sameHashes(records[i - 1], records[i]) {
                pairs.append((k, records[i - 1].doc, records[i].doc))
            }
        }
        return pairs
    }

    /// Stage 3: union–find in pair order; every non-root is removed.
    static func cluster(_ pairs: [(band: Int, a: Int32, b: Int32)], count: Int) -> [Int32: Int32] {
        var uf = UnionFind(count: count)
        for p in pairs { uf.union(p.a, p.b) }
        var removed: [Int32: Int32] = [:]
        for p in pairs {
            for x in [p.a, p.b] {
                let r = uf.find(x)
                if r != x { removed[x] = r }
            }
        }
        return removed
    }

    static func jaccard(_ x: [UInt64], _ y: [UInt64]) -> Double {
        var i = 0, j = 0, common = 0
        while i < x.count && j < y.count {
            if x[i] == y[j] { common += 1; i += 1; j += 1 } else if x[i] < y[j] { i += 1 } else { j += 1 }
        }
        let union = x.count + y.count - common
        return union == 0 ? 1 : Double(common) / Double(union)
    }

    public static func run(input: String, output: String, config: MinHashConfig, verifyJaccard: Double = 0,
                           showProgress: Bool = true) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "dedup --near")
        let m = try DocumentStore.manifest(input)
        let hasher = MinHasher(config: config)
        var bands = [[BandRecord]](repeating: [], count: config.bands)
        var dumpOf: [Int32] = []
        var dumps = DumpIndex()
        var withSig = 0, count = 0
        let progress = ProgressLine("minhash signatures", total: m.documents)
        progress.enabled = showProgress
        try DocumentStore.forEachBatch(input) { batch in
            signatures(batch.map(\.text), base: count, hasher: hasher, into: &bands, withSignature: &withSig, keepShingles: nil)
            for d in batch { dumpOf.append(Int32(dumps.id(d.dump))) }
            count += batch.count
            progress.update(count)
        }
        progress.finish(count)
        var pairs = candidatePairs(&bands, rows: config.rows)
        bands = []
        report["documents_in"] = count
        report["documents_with_signature"] = withSig
        report["candidate_pairs"] = pairs.count
        if verifyJaccard > 0 {
            // True shingle Jaccard of every candidate pair: one more pass, shingle sets only for paired documents.
            let needed = Set(pairs.flatMap { [$0.a, $0.b] })
            var sets: [Int32: [UInt64]] = [:]
            var index = 0
            try DocumentStore.forEachBatch(input) { batch in
                let ids = batch.indices.map { Int32(index + $0) }
                let found = parallelMap(Array(zip(ids, batch)), chunk: 4) { (id, doc) -> [UInt64]? in
                    needed.contains(id) ? Array(Set(hasher.shingles(doc.text))).sorted() : nil
                }
                for (id, s) in zip(ids, found) { if let s { sets[id] = s } }
                index += batch.count
            }
            let before = pairs.count
            pairs = pairs.filter { jaccard(sets[$0.a]!, sets[$0.b]!) >= verifyJaccard }
            report["pairs_rejected_by_jaccard"] = before - pairs.count
        }
        let removed = cluster(pairs, count: count)
        report["clusters_with_duplicates"] = Set(removed.values).count
        // Table 1: the same clustering restricted to the first k dumps.
        var perDump: [Int: Int] = [:]
        for d in dumpOf { perDump[Int(d), default: 0] += 1 }
        report.tables.append(dumps.table(documentsPerDump: perDump) { mask in
            let inPrefix = { (x: Int32) in dumpOf[Int(x)] < 64 && mask & (1 << UInt64(dumpOf[Int(x)])) != 0 }
            var docs = 0
            for (d, n) in perDump where d < 64 && mask & (1 << UInt64(d)) != 0 { docs += n }
            let sub = cluster(pairs.filter { inPrefix($0.a) && inPrefix($0.b) }, count: count)
            return docs - sub.count
        })
        // Stage 4.
        let writer = try DocumentStore.Writer(directory: output, stage: "dedup-near")
        var index = 0
        try DocumentStore.forEachBatch(input) { batch in
            for d in batch {
                if let root = removed[Int32(index)] {
                    report.add("dropped_near_duplicates")
                    report.example("dropped_near_duplicates", "\(d.id) (kept document #\(root)): \(d.text.prefix(80))")
                } else {
                    try writer.append(d)
                }
                index += 1
            }
        }
        try writer.finish()
        report["documents_out"] = writer.documents
        report["index_bytes"] = withSig * config.bands * 68
        report.notes.append("MinHash: \(config.ngrams)-gram shingles, \(config.bands) bands × \(config.rows) rows, seed \(config.seed), XXH64; a pair shares a band with probability 1 − (1 − J^\(config.rows))^\(config.bands)")
        report.seconds = Date().timeIntervalSince(start)
        try report.write(to: output)
        return report
    }
}
