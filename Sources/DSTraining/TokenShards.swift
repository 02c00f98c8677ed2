import DSFormats
import Foundation

/// One or more shards, memory-mapped and read as one token stream (shard boundaries are invisible), checked
/// up front: header fields, sizes, and every token below the vocabulary size — so a bad shard fails before
/// any training step runs.
public final class TokenStream: @unchecked Sendable {
    public let paths: [String]
    public let count: Int
    private let files: [MappedFile]
    private let starts: [Int]  // first stream index of each shard

    public init(paths: [String], vocabularySize: Int) throws(FormatError) {
        guard !paths.isEmpty else { throw FormatError(file: "(no shards)", message: "no token shards given") }
        self.paths = paths
        var files: [MappedFile] = [], starts: [Int] = [], total = 0
        for path in paths {
            let f = try MappedFile(path: path)
            guard f.count >= TokenShard.headerBytes else {
                throw FormatError(file: path, offset: 0, message: "\(f.count) bytes is shorter than the 1024-byte shard header")
            }
            let h = UnsafeRawPointer(f.bytes.baseAddress!)
            let magic = h.loadUnaligned(as: Int32.self), version = h.loadUnaligned(fromByteOffset: 4, as: Int32.self)
            let n = Int(h.loadUnaligned(fromByteOffset: 8, as: Int32.self))
            guard magic == TokenShard.magic else {
                throw FormatError(file: path, offset: 0, field: "magic", message: "shard magic \(magic), expected \(TokenShard.magic)")
            }
            guard version == TokenShard.version else {
                throw FormatError(file: path, offset: 4, field: "version", message: "shard version \(version), expected \(TokenShard.version) (uint32 tokens)")
            }
            guard n >= 0, TokenShard.headerBytes + 4 * n == f.count else {
                throw FormatError(file: path, offset: 8, field: "token count",
                                  message: "header says \(n) tokens but the file holds \((f.count - TokenShard.headerBytes) / 4)")
            }
            let tokens = (h + TokenShard.headerBytes).assumingMemoryBound(to: UInt32.self)
            for i in 0..<n where tokens[i] >= UInt32(vocabularySize) {
                throw FormatError(file: path, offset: TokenShard.headerBytes + 4 * i, field: "token",
                                  message: "token \(tokens[i]) is outside the model's vocabulary (0..<\(vocabularySize))")
            }
            files.append(f)
            starts.append(total)
            total += n
        }
        self.files = files
        self.starts = starts
        count = total
    }

    public subscript(i: Int) -> Int32 {
        var s = starts.count - 1
        while starts[s] > i { s -= 1 }
        let base = UnsafeRawPointer(files[s].bytes.baseAddress!) + TokenShard.headerBytes
        return Int32(base.loadUnaligned(fromByteOffset: 4 * (i - starts[s]), as: UInt32.self))
    }
}

/// llm.c's sequential order: sequence k of the run is tokens[k·T ..< k·T + T + 1] (inputs the first T, targets
/// shifted by one); optimizer step g uses sequences g·G ..< (g+1)·G, G = micro-batches × B. The run wraps to the
/// start of the stream when it runs out (an epoch).
public struct SequentialBatches: Sendable {
    public let stream: TokenStream
    public let seq: Int
    public var sequencesPerEpoch: Int { (stream.count - 1) / seq }

    public init(stream: TokenStream, seq: Int) throws(FormatError) {
        self.stream = stream
        self.seq = seq
        guard stream.count > seq else {
            throw FormatError(file: stream.paths[0], message: "\(stream.count) tokens cannot fill one sequence of \(seq) + 1")
        }
    }

    /// Inputs and targets for sequences first ..< first + count.
    public func batch(first: Int, count: Int) -> (inputs: [Int32], targets: [Int32]) {
        var x: [Int32] = [], y: [Int32] = []
        x.reserveCapacity(count * seq)
        y.reserveCapacity(count * seq)
        for k in first..<(first + count) {
            let start = (k % sequencesPerEpoch) * seq
            for t in 0..<seq {
                x.append(stream[start + t])
                y.append(stream[start + t + 1])
            }
        }
        return (x, y)
    }
}
