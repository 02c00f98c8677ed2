import Foundation

/// Token shards in llm.c's format: a 256 × int32 header (magic 20240801, version 7, token count) followed by
/// uint32 tokens (DeepSeek's 102400 ids do not fit llm.c's original uint16 shards). Documents are separated by EOS.
public enum TokenShard {
    public static let magic: Int32 = 20240801
    public static let version: Int32 = 7
    public static let headerBytes = 256 * 4

    /// Writes a shard atomically (temp file + rename).
    public static func write(_ tokens: [UInt32], to path: String) throws {
        var header = [Int32](repeating: 0, count: 256)
        header[0] = magic
        header[1] = version
        header[2] = Int32(truncatingIfNeeded: tokens.count)
        var data = Data(capacity: headerBytes + 4 * tokens.count)
        header.withUnsafeBytes { data.append(contentsOf: $0) }
        tokens.withUnsafeBytes { data.append(contentsOf: $0) }
        try writeAtomically(data, to: path)
    }
}

/// Writes a shard incrementally (tokenizing a corpus produces far more tokens than fit in memory): header
/// placeholder, tokens appended, count patched on `finish()`, then renamed into place.
public final class TokenShardWriter {
    public let path: String
    let tmp: String
    let handle: FileHandle
    public private(set) var count = 0
    var buffer: [UInt32] = []

    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        FileManager.default.createFile(atPath: tmp, contents: nil)
        guard let h = FileHandle(forWritingAtPath: tmp) else { throw FormatError(file: tmp, message: "cannot create") }
        handle = h
        try handle.write(contentsOf: Data(count: TokenShard.headerBytes))
    }

    public func append<S: Sequence>(_ tokens: S) throws where S.Element == UInt32 {
        buffer.append(contentsOf: tokens)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
        count += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    public var pendingCount: Int { count + buffer.count }

    public func finish() throws {
        try flush()
        guard count <= Int(Int32.max) else { throw FormatError(file: path, message: "\(count) tokens do not fit the header's int32 count") }
        var header = [Int32](repeating: 0, count: 256)
        header[0] = TokenShard.magic
        header[1] = TokenShard.version
        header[2] = Int32(count)
        try handle.seek(toOffset: 0)
        try header.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
        try handle.close()
        guard rename(tmp, path) == 0 else { throw FormatError(file: path, message: "cannot rename shard into place") }
    }
}
