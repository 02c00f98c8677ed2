import DSFormats
import Foundation

/// `dsllm data ingest`: text and JSONL files (plain, .gz, .zst) into a document store. Bad input is counted
/// per kind with file:line examples — never a crash, never a silent drop.
public enum Ingest {
    public enum TextSplit: String, Sendable { case file, blankLine = "blank-line" }

    public struct Options: Sendable {
        public var textSplit = TextSplit.file
        /// Defaults for documents whose JSONL line has no such field (and for every text document).
        public var dump = "", domain = "", lang = ""
        /// Documents above this many UTF-8 bytes are dropped and counted as `huge_documents`.
        public var maxDocumentBytes = 16 << 20
        public var showProgress = true
        public init() {}
    }

    /// Files under the inputs (directories recursively, sorted, hidden files skipped).
    public static func files(_ inputs: [String]) throws(FormatError) -> [String] {
        var out: [String] = []
        for input in inputs {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else { throw FormatError(file: input, message: "no such file or directory") }
            if !isDir.boolValue { out.append(input); continue }
            let all = (FileManager.default.enumerator(atPath: input)?.allObjects as? [String]) ?? []
            for rel in all.sorted() where !rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                let p = (input as NSString).appendingPathComponent(rel)
                var d: ObjCBool = false
                if FileManager.default.fileExists(atPath: p, isDirectory: &d), !d.boolValue { out.append(p) }
            }
        }
        return out
    }

    static func isJSONL(_ path: String) -> Bool {
        var name = (path as NSString).lastPathComponent.lowercased()
        for ext in [".gz", ".zst", ".zstd"] where name.hasSuffix(ext) { name = String(name.dropLast(ext.count)) }
        return name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json")
    }

    public static func run(inputs: [String], output: String, options o: Options = Options()) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "ingest")
        let paths = try files(inputs)
        let writer = try DocumentStore.Writer(directory: output, stage: "ingest")
        let progress = ProgressLine("ingest")
        progress.enabled = o.showProgress
        for name in ["files", "lines", "documents", "bytes", "malformed_json", "invalid_utf8", "missing_text", "empty_documents",
                     "huge_documents"] { report[name] = 0 }
        func accept(_ d: Document, _ location: @autoclosure () -> String) throws {
            let size = d.text.utf8.count
            if d.text.allSatisfy(\.isWhitespace) {
                report.add("empty_documents")
                report.example("empty_documents", location())
            } else if size > o.maxDocumentBytes {
                report.add("huge_documents")
                report.example("huge_documents", "\(location()) (\(size) bytes)")
            } else {
                try writer.append(d)
                report.add("documents")
                report.add("bytes", size)
            }
            progress.update(writer.documents)
        }
        for path in paths {
            report.add("files")
            let base = (path as NSString).lastPathComponent
            if isJSONL(path) {
                // Lines are parsed in parallel batches and written in input order.
                var batch: [(Int, [UInt8])] = []
                func drain() throws {
                    let results = parallelMap(batch, chunk: 64) { line in
                        line.1.withUnsafeBufferPointer { Document.parse(jsonLine: $0, defaultID: "\(base):\(line.0)") }
                    }
                    for (i, r) in results.enumerated() {
                        let where_ = "\(path):\(batch[i].0)"
                        switch r {
                        case .success(var d):
                            if d.dump.isEmpty { d.dump = o.dump }
                            if d.domain.isEmpty { d.domain = o.domain }
                            if d.lang.isEmpty { d.lang = o.lang }
                            try accept(d, where_)
                        case .failure(.invalidUTF8):
                            report.add("invalid_utf8"); report.example("invalid_utf8", where_)
                        case .failure(.missingText):
                            report.add("missing_text"); report.example("missing_text", where_)
                        case .failure(.notAnObject):
                            report.add("malformed_json"); report.example("malformed_json", "\(where_): not a JSON object")
                        case .failure(.invalidJSON(let m)):
                            report.add("malformed_json"); report.example("malformed_json", "\(where_): \(m)")
                        }
                    }
                    batch.removeAll(keepingCapacity: true)
                }
                try LineReader(path: path, maxLineBytes: o.maxDocumentBytes * 2 + 4096).forEachLine { line in
                    report.add("lines")
                    if line.oversizedBytes > 0 {
                        report.add("huge_documents")
                        report.example("huge_documents", "\(path):\(line.number) (a \(line.oversizedBytes)-byte line)")
                        return
                    }
                    if line.bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return }  // blank lines between records
                    batch.append((line.number, Array(line.bytes)))
                    if batch.count == 8192 { try drain() }
                }
                try drain()
            } else {
                // Text: one document per file, or per block of lines separated by blank lines.
                var block: [UInt8] = [], blockStart = 1, n = 0, blocks = 0, tooLong = false
                func emit() throws {
                    defer { block.removeAll(keepingCapacity: true); tooLong = false }
                    let id = o.textSplit == .file ? base : "\(base):\(blockStart)"
                    if tooLong {
                        report.add("huge_documents"); report.example("huge_documents", "\(path):\(blockStart)")
                        return
                    }
                    if block.isEmpty && o.textSplit == .blankLine { return }
                    blocks += 1
                    guard let text = String(validating: block, as: UTF8.self) else {
                        report.add("invalid_utf8"); report.example("invalid_utf8", "\(path):\(blockStart)")
                        return
                    }
                    try accept(Document(id: id, text: text, dump: o.dump, domain: o.domain, lang: o.lang), "\(path):\(blockStart)")
                }
                try LineReader(path: path, maxLineBytes: o.maxDocumentBytes + 1).forEachLine { line in
                    n = line.number
                    report.add("lines")
                    if line.oversizedBytes > 0 { tooLong = true; return }
                    var bytes = line.bytes
                    if bytes.last == 13 { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
                    if o.textSplit == .blankLine && bytes.allSatisfy({ $0 == 32 || $0 == 9 }) {
                        if !block.isEmpty || tooLong { try emit() }
                        blockStart = line.number + 1
                        return
                    }
                    if tooLong { return }
                    if !block.isEmpty { block.append(10) }
                    block.append(contentsOf: bytes)
                    if block.count > o.maxDocumentBytes { tooLong = true; block.removeAll() }
                }
                _ = n
                if o.textSplit == .file || !block.isEmpty || tooLong { try emit() }
            }
        }
        try writer.finish()
        progress.finish(writer.documents)
        report.seconds = Date().timeIntervalSince(start)
        try report.write(to: output)
        return report
    }
}
