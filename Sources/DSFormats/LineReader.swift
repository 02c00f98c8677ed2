import CCompress
import Foundation

/// Reads a text file line by line in constant memory: plain, gzip (.gz) or zstd (.zst), detected by the
/// file's magic bytes. Lines longer than `maxLineBytes` are not buffered: the reader skips to the next
/// newline and reports the line as oversized (its length), so a 2 GB one-line file cannot exhaust memory.
public struct LineReader {
    public enum Compression: String, Sendable { case none, gzip, zstd }

    public let path: String
    public let maxLineBytes: Int
    static let chunk = 1 << 22

    public init(path: String, maxLineBytes: Int = 64 << 20) {
        self.path = path
        self.maxLineBytes = maxLineBytes
    }

    /// A line: its bytes (valid only during the call) and 1-based number; `oversizedBytes` > 0 means the
    /// line was too long and `bytes` is empty.
    public struct Line {
        public let bytes: UnsafeBufferPointer<UInt8>
        public let number: Int
        public let oversizedBytes: Int
    }

    public static func compression(ofFileAt path: String) throws(FormatError) -> Compression {
        guard let h = FileHandle(forReadingAtPath: path) else { throw FormatError(file: path, message: "cannot open file") }
        defer { try? h.close() }
        let head = [UInt8]((try? h.read(upToCount: 4)) ?? Data())
        if head.count >= 2, head[0] == 0x1f, head[1] == 0x8b { return .gzip }
        if head.count >= 4, head == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }

    /// Calls `body` for every line (without its newline; a trailing "\r" is kept for the caller to decide).
    public func forEachLine(_ body: (Line) throws -> Void) throws {
        let kind = try Self.compression(ofFileAt: path)
        guard let h = FileHandle(forReadingAtPath: path) else { throw FormatError(file: path, message: "cannot open file") }
        defer { try? h.close() }
        var decoder: OpaquePointer?
        if kind != .none {
            guard let d = dsllm_decoder_open(kind == .gzip ? 1 : 2) else {
                throw FormatError(file: path, message: "cannot load \(kind == .gzip ? "libz.so.1" : "libzstd.so.1") to read \(kind.rawValue) input")
            }
            decoder = OpaquePointer(d)
        }
        defer { if let decoder { dsllm_decoder_close(UnsafeMutableRawPointer(decoder)) } }
        var pending: [UInt8] = []        // the start of a line that continues in the next chunk
        var skipping = 0                 // > 0 while skipping an oversized line (bytes seen so far)
        var number = 0
        var compressedOffset = 0
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.chunk)
        defer { out.deallocate() }

        func consume(_ buf: UnsafeBufferPointer<UInt8>) throws {
            var start = 0
            while start < buf.count {
                guard let nl = buf[start...].firstIndex(of: 10) else {
                    if skipping > 0 { skipping += buf.count - start }
                    else {
                        pending.append(contentsOf: buf[start...])
                        if pending.count > maxLineBytes { skipping = pending.count; pending = [] }
                    }
                    return
                }
                number += 1
                if skipping > 0 {
                    try body(Line(bytes: UnsafeBufferPointer(start: nil, count: 0), number: number, oversizedBytes: skipping + nl - start))
                    skipping = 0
                } else if pending.isEmpty {
                    try body(Line(bytes: UnsafeBufferPointer(rebasing: buf[start..<nl]), number: number, oversizedBytes: 0))
                } else {
                    pending.append(contentsOf: buf[start..<nl])
                    if pending.count > maxLineBytes {
                        try body(Line(bytes: UnsafeBufferPointer(start: nil, count: 0), number: number, oversizedBytes: pending.count))
                    } else {
                        try pending.withUnsafeBufferPointer { try body(Line(bytes: $0, number: number, oversizedBytes: 0)) }
                    }
                    pending.removeAll(keepingCapacity: pending.count < (1 << 24))
                }
                start = nl + 1
            }
        }

        while true {
            let data = (try? h.read(upToCount: Self.chunk)) ?? Data()
            if data.isEmpty { break }
            if let decoder {
                try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                    var offset = 0
                    while offset < raw.count {
                        var used = 0
                        var err: UnsafePointer<CChar>?
                        let made = dsllm_decoder_run(UnsafeMutableRawPointer(decoder), raw.baseAddress! + offset, raw.count - offset, &used,
                                                     out, Self.chunk, &err)
                        if made < 0 {
                            throw FormatError(file: path, offset: compressedOffset + offset,
                                              message: "corrupt \(kind.rawValue) data: \(err.map { String(cString: $0) } ?? "?")")
                        }
                        offset += used
                        try consume(UnsafeBufferPointer(start: out, count: made))
                        if used == 0 && made == 0 { break }
                    }
                }
                compressedOffset += data.count
            } else {
                try data.withUnsafeBytes { try consume($0.bindMemory(to: UInt8.self)) }
            }
        }
        if let decoder {
            // Drain what the decoder still holds.
            while true {
                var used = 0
                var err: UnsafePointer<CChar>?
                let made = dsllm_decoder_run(UnsafeMutableRawPointer(decoder), out, 0, &used, out, Self.chunk, &err)
                if made <= 0 { break }
                try consume(UnsafeBufferPointer(start: out, count: made))
            }
            if dsllm_decoder_finished(UnsafeMutableRawPointer(decoder)) == 0 {
                throw FormatError(file: path, offset: compressedOffset, message: "\(kind.rawValue) stream is truncated")
            }
        }
        if skipping > 0 {
            number += 1
            try body(Line(bytes: UnsafeBufferPointer(start: nil, count: 0), number: number, oversizedBytes: skipping))
        } else if !pending.isEmpty {
            number += 1
            try pending.withUnsafeBufferPointer { try body(Line(bytes: $0, number: number, oversizedBytes: 0)) }
        }
    }
}
