@testable import DSData
import DSFormats
import DSTokenizer
import Foundation
import Testing

/// The stages end to end on small stores: ingest (JSONL, gzip, zstd, text), bad input accounting, exact and
/// near dedup, filtering, remixing, tokenizing to shards.
@Suite struct PipelineTests {
    static func ingest(_ files: [String], _ o: Ingest.Options = { var o = Ingest.Options(); o.showProgress = false; return o }())
        throws -> (String, StageReport) {
        let out = Golden.temporaryDirectory("ingest")
        return (out, try Ingest.run(inputs: files, output: out, options: o))
    }

    static func documents(_ store: String) throws -> [Document] {
        var all: [Document] = []
        try DocumentStore.forEachBatch(store) { all += $0 }
        return all
    }

    @Test func plainGzipAndZstdJSONLGiveTheSameDocuments() throws {
        let g = Golden.directory.path
        let plain = try Self.documents(Self.ingest([g + "/small.jsonl"]).0)
        let gz = try Self.documents(Self.ingest([g + "/small.jsonl.gz"]).0)
        let zst = try Self.documents(Self.ingest([g + "/small.jsonl.zst"]).0)
        #expect(plain.count == 3 && plain[1].text.contains("ünïcödé") && plain[0].dump == "2024-01")
        #expect(plain[2].id == "small.jsonl:3")
        #expect(gz.map(\.text) == plain.map(\.text))
        #expect(zst.map(\.text) == plain.map(\.text))
    }

    @Test func badInputIsCountedWithLocations() throws {
        var o = Ingest.Options()
        o.showProgress = false
        o.maxDocumentBytes = 1000
        let (store, r) = try Self.ingest([Golden.directory.path + "/bad-input.jsonl"], o)
        #expect(r["documents"] == 2)
        #expect(r["malformed_json"] == 2)   // unterminated string, and a JSON array
        #expect(r["missing_text"] == 1)
        #expect(r["empty_documents"] == 1)
        #expect(r["invalid_utf8"] == 1)
        #expect(r["huge_documents"] == 1)
        #expect(r.examples["invalid_utf8"]!.first!.hasSuffix("bad-input.jsonl:6"))
        #expect(try Self.documents(store).map(\.id) == ["ok1", "ok2"])
        let report = try String(contentsOfFile: store + "/report.md", encoding: .utf8)
        #expect(report.contains("| malformed_json | 2 |"))
    }

    @Test func corruptCompressedInputNamesTheFile() throws {
        let dir = Golden.temporaryDirectory("corrupt")
        var bytes = [UInt8](try Data(contentsOf: Golden.directory.appendingPathComponent("small.jsonl.gz")))
        bytes = Array(bytes.prefix(bytes.count / 2))
        let path = dir + "/cut.jsonl.gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: FormatError.self) { try Self.ingest([path]) }
        do { _ = try Self.ingest([path]) } catch let e as FormatError { #expect(e.file == path && e.description.contains("truncated")) }
    }

    @Test func textFilesPerFileOrPerBlankLineBlock() throws {
        let dir = Golden.temporaryDirectory("text")
        try "One paragraph\nstill one.\n\n\nSecond paragraph.\n   \nThird.".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        #expect(try Self.documents(Self.ingest([dir]).0).count == 1)
        var o = Ingest.Options()
        o.showProgress = false
        o.textSplit = .blankLine
        o.domain = "notes"
        let docs = try Self.documents(Self.ingest([dir], o).0)
        #expect(docs.map(\.text) == ["One paragraph\nstill one.", "Second paragraph.", "Third."])
        #expect(docs.allSatisfy { $0.domain == "notes" } && docs[1].id == "a.txt:5")
    }

    /// Writes documents as a store directly.
    static func store(_ docs: [Document]) throws -> String {
        let dir = Golden.temporaryDirectory("store")
        let w = try DocumentStore.Writer(directory: dir, stage: "test", partBytes: 300)  // several parts
        for d in docs { try w.append(d) }
        try w.finish()
        return dir
    }

    @Test func exactDedupAcrossDumpsWithTheTable() throws {
        let docs = [Document(id: "1", text: "Hello, World!", dump: "d1"), Document(id: "2", text: "hello world", dump: "d1"),
                    Document(id: "3", text: "Something else.", dump: "d1"), Document(id: "4", text: "HELLO   world?", dump: "d2"),
                    Document(id: "5", text: "something ELSE", dump: "d2"), Document(id: "6", text: "New in two.", dump: "d2")]
        let out = Golden.temporaryDirectory("exact")
        let r = try ExactDedup.run(input: try Self.store(docs), output: out, showProgress: false)
        #expect(try Self.documents(out).map(\.id) == ["1", "3", "6"])
        #expect(r["dropped_duplicates"] == 3)
        let table = r.tables[0].rows
        #expect(table[0][4] == "33.3%")   // within d1: 1 of 3
        #expect(table[1][4] == "50.0%")   // d1 + d2: 3 of 6
    }

    @Test func nearDedupStoreKeepsClusterRoots() throws {
        let docs = Golden.corpus.map { Document(id: $0["id"] as! String, text: $0["text"] as! String, dump: $0["dump"] as! String) }
        let out = Golden.temporaryDirectory("near")
        let r = try NearDedup.run(input: try Self.store(docs), output: out, config: MinHashConfig(), showProgress: false)
        let kept = Set(try Self.documents(out).map(\.id))
        let expected = Set(Golden.docs.filter { ($0["minhash"] as! [String: Any])["kept"] as! Bool }.map { $0["id"] as! String })
        #expect(kept == expected)
        #expect(r["documents_out"] == expected.count && r.tables[0].rows.count == Set(docs.map(\.dump)).count)
        // With the true-Jaccard check at 0.99 only (near-)identical pairs survive: fewer drops, never more.
        let strict = try NearDedup.run(input: try Self.store(docs), output: Golden.temporaryDirectory("near99"), config: MinHashConfig(),
                                       verifyJaccard: 0.99, showProgress: false)
        #expect(strict["pairs_rejected_by_jaccard"] > 0 && strict["documents_out"] > r["documents_out"])
    }

    @Test func filterStageCountsEveryRule() throws {
        let docs = Golden.corpus.map { Document(id: $0["id"] as! String, text: $0["text"] as! String) }
        let out = Golden.temporaryDirectory("filter")
        let r = try QualityFiltering.run(input: try Self.store(docs), output: out, filters: QualityFilterKind.allCases, disabled: [],
                                         showProgress: false)
        #expect(r["documents_in"] == docs.count)
        let dropped = r.counters.filter { $0.name.hasPrefix("dropped: ") }.reduce(0) { $0 + $1.value }
        #expect(dropped + r["documents_out"] == docs.count)
        #expect(r.examples.keys.contains("gopher_short_doc"))
        // Switching a rule off keeps what it alone dropped.
        let off = try QualityFiltering.run(input: try Self.store(docs), output: Golden.temporaryDirectory("filter-off"),
                                           filters: [.gopherQuality], disabled: ["gopher_short_doc"], showProgress: false)
        #expect(off["dropped: gopher_short_doc"] == 0)
    }

    @Test func remixHitsTargetSharesDeterministically() throws {
        var docs: [Document] = []
        for i in 0..<400 { docs.append(Document(id: "a\(i)", text: String(repeating: "a", count: 100), domain: "A")) }
        for i in 0..<100 { docs.append(Document(id: "b\(i)", text: String(repeating: "b", count: 100), domain: "B")) }
        let input = try Self.store(docs)
        let out1 = Golden.temporaryDirectory("remix1"), out2 = Golden.temporaryDirectory("remix2")
        _ = try Remix.run(input: input, output: out1, weights: ["A": 0.5, "B": 0.5], seed: 7, showProgress: false)
        _ = try Remix.run(input: input, output: out2, weights: ["A": 0.5, "B": 0.5], seed: 7, showProgress: false)
        let a = try Self.documents(out1), b = try Self.documents(out2)
        #expect(a.map(\.id) == b.map(\.id))
        let bShare = Double(a.filter { $0.domain == "B" }.count) / Double(a.count)
        #expect(abs(bShare - 0.5) < 0.03, "B share \(bShare)")   // B upsampled 2.5×, A downsampled to 0.625
        #expect(a.contains { $0.id == "b3#2" })
        #expect(throws: FormatError.self) { try Remix.run(input: input, output: out1, weights: ["C": 1], seed: 1, showProgress: false) }
    }

    @Test func tokenizeWritesShardsWithEOSAndASplit() throws {
        let docs = (0..<300).map { Document(id: "d\($0)", text: "Document number \($0) says hello.") }
        let out = Golden.temporaryDirectory("shards")
        var o = ShardTokenizer.Options()
        o.shardTokens = 1000
        o.validationFraction = 0.1
        o.showProgress = false
        let tok = try Tokenizer.embeddedDeepSeek()
        let r = try ShardTokenizer.run(input: try Self.store(docs), output: out, tokenizer: tok, options: o)
        #expect(r["train_shards"] > 1 && r["validation_shards"] >= 1)
        var tokens: [UInt32] = []
        for f in try FileManager.default.contentsOfDirectory(atPath: out).filter({ $0.hasSuffix(".bin") }).sorted() {
            let data = try Data(contentsOf: URL(fileURLWithPath: out + "/" + f))
            let header = data.prefix(1024).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
            #expect(header[0] == 20240801 && header[1] == 7 && Int(header[2]) * 4 + 1024 == data.count)
            tokens += data.dropFirst(1024).withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
        }
        #expect(tokens.filter { $0 == 100001 }.count == 300)
        #expect(tokens.count == r["train_tokens"] + r["validation_tokens"])
        let val = r["validation_tokens"], expectedVal = docs.filter { ShardTokenizer.isValidation($0.id, fraction: 0.1) }.count
        #expect(expectedVal > 10 && expectedVal < 60 && val > 0)
    }
}
