import DSFormats
import Foundation

/// dsllm's document store: a directory of JSONL parts (`part-00000.jsonl`, …; one `Document.jsonLine` per line)
/// and `manifest.json` ({"format": "dsllm-documents", "version": 1, "stage", "documents", "bytes", "parts"}).
/// Plain JSONL so any tool can read it; parts so that writing stays streaming and a reader can start anywhere.
/// Every part is written to a temp name and renamed; the manifest is written last, so a store with a manifest
/// is complete.
public enum DocumentStore {
    public static let format = "dsllm-documents"
    public static let manifestName = "manifest.json"

    public struct Manifest: Sendable {
        public var stage: String
        public var documents: Int
        public var bytes: Int
        public var parts: [String]
    }

    public static func manifest(_ directory: String) throws(FormatError) -> Manifest {
        let path = (directory as NSString).appendingPathComponent(manifestName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(file: path, message: "not a document store (no manifest.json; make one with `dsllm data ingest`)")
        }
        let v: JSONValue
        do { v = try JSONValue.parse(Array(data)) } catch { throw FormatError(file: path, message: error.description) }
        guard v["format"]?.string == format else { throw FormatError(file: path, field: "format", message: "expected \"\(format)\"") }
        guard let parts = v["parts"]?.array?.compactMap(\.string), let docs = v["documents"]?.int, let bytes = v["bytes"]?.int else {
            throw FormatError(file: path, field: "parts", message: "missing parts/documents/bytes")
        }
        return Manifest(stage: v["stage"]?.string ?? "", documents: docs, bytes: bytes, parts: parts)
    }

    /// Streams the store's documents in order, `batchSize` at a time (constant memory).
    public static func forEachBatch(_ directory: String, batchSize: Int = 4096, _ body: ([Document]) throws -> Void) throws {
        let m = try manifest(directory)
        var batch: [Document] = []
        batch.reserveCapacity(batchSize)
        for part in m.parts {
            let path = (directory as NSString).appendingPathComponent(part)
            try LineReader(path: path).forEachLine { line in
                if line.bytes.isEmpty { return }
                switch Document.parse(jsonLine: line.bytes, defaultID: "") {
                case .success(let d): batch.append(d)
                case .failure(let p): throw FormatError(file: path, field: "line \(line.number)", message: "corrupt document store line: \(p)")
                }
                if batch.count == batchSize {
                    try body(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        if !batch.isEmpty { try body(batch) }
    }

    /// Writes documents into parts of about `partBytes`, then the manifest.
    public final class Writer {
        public let directory: String
        public let stage: String
        let partBytes: Int
        var parts: [String] = []
        var handle: FileHandle?
        var tmpPath = "", partSize = 0
        public private(set) var documents = 0, bytes = 0
        var buffer = Data()

        public init(directory: String, stage: String, partBytes: Int = 256 << 20) throws {
            self.directory = directory
            self.stage = stage
            self.partBytes = partBytes
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // A store being rewritten loses its manifest first: until the new one lands, it reads as incomplete.
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(DocumentStore.manifestName))
        }

        public func append(_ d: Document) throws {
            if handle == nil { try openPart() }
            let line = d.jsonLine
            buffer.append(contentsOf: line.utf8)
            partSize += line.utf8.count
            documents += 1
            bytes += d.text.utf8.count
            if buffer.count >= 1 << 20 { try flush() }
            if partSize >= partBytes { try closePart() }
        }

        func openPart() throws {
            let name = String(format: "part-%05d.jsonl", parts.count)
            tmpPath = (directory as NSString).appendingPathComponent(".\(name).tmp-\(getpid())")
            FileManager.default.createFile(atPath: tmpPath, contents: nil)
            guard let h = FileHandle(forWritingAtPath: tmpPath) else { throw FormatError(file: tmpPath, message: "cannot create") }
            handle = h
            parts.append(name)
            partSize = 0
        }

        func flush() throws {
            guard let handle, !buffer.isEmpty else { return }
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }

        func closePart() throws {
            guard let h = handle else { return }
            try flush()
            try h.close()
            handle = nil
            let final = (directory as NSString).appendingPathComponent(parts.last!)
            guard rename(tmpPath, final) == 0 else { throw FormatError(file: final, message: "cannot rename part into place") }
        }

        /// Closes the last part and writes the manifest (the store is complete from here on).
        public func finish() throws {
            try closePart()
            // Parts of an older store under the same names beyond ours are stale: remove them.
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for f in existing where f.hasPrefix("part-") && f.hasSuffix(".jsonl") && !parts.contains(f) {
                try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(f))
            }
            let manifest = JSONOut.object([
                ("format", .string(DocumentStore.format)), ("version", .int(1)), ("stage", .string(stage)),
                ("documents", .int(documents)), ("bytes", .int(bytes)), ("parts", .array(parts.map { .string($0) })),
            ])
            let json = manifest.text(layout: .spaced) + "\n"
            try writeAtomically(Data(json.utf8), to: (directory as NSString).appendingPathComponent(DocumentStore.manifestName))
        }
    }

    /// The frame of a document-to-document stage: streams `input` in batches through `body` (which appends what it
    /// keeps to the writer), with a progress line, then finishes the output store. Returns documents in and out.
    @discardableResult
    public static func stream(_ input: String, to output: String, stage: String, showProgress: Bool, batchSize: Int = 4096,
                              _ body: ([Document], Writer) throws -> Void) throws -> (documentsIn: Int, documentsOut: Int) {
        let m = try manifest(input)
        let writer = try Writer(directory: output, stage: stage)
        let progress = ProgressLine(stage, total: m.documents)
        progress.enabled = showProgress
        var done = 0
        try forEachBatch(input, batchSize: batchSize) { batch in
            try body(batch, writer)
            done += batch.count
            progress.update(done)
        }
        try writer.finish()
        progress.finish(done)
        return (done, writer.documents)
    }
}
