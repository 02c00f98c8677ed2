import Foundation

/// safetensors element types.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", i16 = "I16", u16 = "U16"
    case f16 = "F16", bf16 = "BF16", i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

public struct SafetensorsTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: SafetensorsDType
    /// Row-major shape, as PyTorch writes it ([out, in] for a Linear weight).
    public var shape: [Int]
    /// Absolute byte range in the file.
    public var byteRange: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped `.safetensors` file: `u64 N | N bytes of JSON header | data`.
///
/// Validated the way the reference reader does: header length ≤ 100 MB and inside the file, every
/// entry's size equal to its shape × dtype, and the data ranges tiling the buffer exactly (no gaps,
/// no overlaps, nothing past the end). Every error names the file and the tensor or field.
public final class SafetensorsFile: @unchecked Sendable {
    public let file: MappedFile
    /// Tensors in data order.
    public let tensors: [SafetensorsTensorInfo]
    public let metadata: [String: String]
    public let dataOffset: Int
    private let index: [String: Int]

    public var path: String { file.path }

    public convenience init(path: String) throws(FormatError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(FormatError) {
        self.file = file
        let bytes = file.bytes
        func fail(_ message: String, field: String? = nil, offset: Int? = nil) -> FormatError {
            FormatError(file: file.path, offset: offset, field: field, message: message)
        }
        guard bytes.count >= 8 else { throw fail("file is shorter than the 8-byte header length", offset: 0) }
        let n = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard n <= 100_000_000 else { throw fail("header length \(n) exceeds 100,000,000 bytes", field: "header", offset: 0) }
        guard 8 + Int(n) <= bytes.count else {
            throw fail("header length \(n) runs past the end of the file (\(bytes.count) bytes)", field: "header", offset: 0)
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<8 + Int(n)]))
        } catch {
            throw fail("header is not valid JSON: \(error.message)", field: "header", offset: 8 + error.offset)
        }
        guard let object = header.object else { throw fail("header is not a JSON object", field: "header", offset: 8) }
        dataOffset = 8 + Int(n)
        let bufferSize = bytes.count - dataOffset
        var infos: [SafetensorsTensorInfo] = []
        var metadata: [String: String] = [:]
        for (name, value) in object.members {
            if name == "__metadata__" {
                guard let m = value.object else { throw fail("must be an object of strings", field: "__metadata__") }
                for (k, v) in m.members {
                    guard let s = v.string else { throw fail("value is not a string", field: "__metadata__.\(k)") }
                    metadata[k] = s
                }
                continue
            }
            guard let dtypeName = value["dtype"]?.string else { throw fail("missing dtype", field: name) }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw fail("unknown dtype \"\(dtypeName)\"", field: name)
            }
            guard let shapeValues = value["shape"]?.array else { throw fail("missing shape", field: name) }
            var shape: [Int] = []
            var count = 1
            for d in shapeValues {
                guard let v = d.int, v >= 0, v < 1 << 40 else { throw fail("shape has an invalid dimension \(d)", field: name) }
                shape.append(v)
                let (product, overflow) = count.multipliedReportingOverflow(by: v)
                guard !overflow, product <= bufferSize else { throw fail("shape \(shapeValues) is larger than the file", field: name) }
                count = product
            }
            guard let offsets = value["data_offsets"]?.array, offsets.count == 2,
                  let begin = offsets[0].int, let end = offsets[1].int, begin >= 0, begin <= end else {
                throw fail("data_offsets must be [begin, end] with 0 ≤ begin ≤ end", field: name)
            }
            guard end <= bufferSize else {
                throw fail("data_offsets end \(end) is past the end of the data (\(bufferSize) bytes)", field: name)
            }
            guard end - begin == count * dtype.byteSize else {
                throw fail("data_offsets span \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(count * dtype.byteSize)",
                           field: name)
            }
            infos.append(SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape,
                                               byteRange: dataOffset + begin..<dataOffset + end))
        }
        infos.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var expected = dataOffset
        for t in infos {
            if t.byteRange.lowerBound < expected {
                throw fail("data overlaps the previous tensor's", field: t.name, offset: t.byteRange.lowerBound)
            }
            if t.byteRange.lowerBound > expected {
                throw fail("gap of \(t.byteRange.lowerBound - expected) bytes before this tensor's data", field: t.name,
                           offset: expected)
            }
            expected = t.byteRange.upperBound
        }
        guard expected == bytes.count else {
            throw fail("\(bytes.count - expected) bytes after the last tensor are not described by the header", offset: expected)
        }
        var index: [String: Int] = [:]
        for (i, t) in infos.enumerated() { index[t.name] = i }
        self.tensors = infos
        self.metadata = metadata
        self.index = index
    }

    public subscript(name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    /// A tensor's bytes, mapped (no copy).
    public func data(of tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.byteRange])
    }
}

/// An HF checkpoint directory: `model.safetensors`, or shards listed by `model.safetensors.index.json`.
public final class SafetensorsCheckpoint: @unchecked Sendable {
    public let directory: String
    public let shards: [SafetensorsFile]
    private let location: [String: (shard: Int, info: SafetensorsTensorInfo)]

    /// Whether `directory` holds a safetensors index, model.safetensors or any *.safetensors file.
    public static func hasFiles(directory: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .contains { $0.hasSuffix(".safetensors") || $0 == "model.safetensors.index.json" }
    }

    public init(directory: String) throws(FormatError) {
        self.directory = directory
        let fm = FileManager.default
        let indexPath = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        var shardNames: [String] = []
        var weightMap: [String: String] = [:]
        if fm.fileExists(atPath: indexPath) {
            let m = try MappedFile(path: indexPath)
            let json: JSONValue
            do { json = try JSONValue.parse(m.bytes) } catch {
                throw FormatError(file: indexPath, offset: error.offset, message: "not valid JSON: \(error.message)")
            }
            guard let map = json["weight_map"]?.object else {
                throw FormatError(file: indexPath, field: "weight_map", message: "missing or not an object")
            }
            for (name, v) in map.members {
                guard let shard = v.string, !shard.contains("/") else {
                    throw FormatError(file: indexPath, field: "weight_map.\(name)", message: "must be a file name in this directory")
                }
                weightMap[name] = shard
                if !shardNames.contains(shard) { shardNames.append(shard) }
            }
        } else {
            let single = (directory as NSString).appendingPathComponent("model.safetensors")
            if fm.fileExists(atPath: single) {
                shardNames = ["model.safetensors"]
            } else {
                let all = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
                guard !all.isEmpty else {
                    throw FormatError(file: directory, message: "no model.safetensors, index or *.safetensors files (nor pytorch_model*.bin)")
                }
                shardNames = all
            }
        }
        var shards: [SafetensorsFile] = []
        var location: [String: (Int, SafetensorsTensorInfo)] = [:]
        for (i, name) in shardNames.enumerated() {
            let f = try SafetensorsFile(path: (directory as NSString).appendingPathComponent(name))
            shards.append(f)
            for t in f.tensors {
                if let expected = weightMap[t.name], expected != name { continue }
                if location[t.name] != nil {
                    throw FormatError(file: f.path, field: t.name, message: "tensor appears in more than one shard")
                }
                location[t.name] = (i, t)
            }
        }
        for (name, shard) in weightMap where location[name] == nil {
            throw FormatError(file: indexPath, field: "weight_map.\(name)", message: "tensor is not in \(shard)")
        }
        self.shards = shards
        self.location = location
    }

    public var tensorNames: [String] { location.keys.sorted() }

    public func info(_ name: String) -> SafetensorsTensorInfo? { location[name]?.info }

    public func data(_ name: String) -> UnsafeRawBufferPointer? {
        guard let l = location[name] else { return nil }
        return shards[l.shard].data(of: l.info)
    }
}

/// Writes a `.safetensors` file the way the reference writer does: header padded with spaces to a
/// multiple of 8, tensors ordered by descending dtype size then name, data contiguous.
public struct SafetensorsWriter {
    public struct Tensor {
        public var name: String
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public var data: [UInt8]
        public init(name: String, dtype: SafetensorsDType, shape: [Int], data: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }
    }

    public var tensors: [Tensor] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public func bytes() -> [UInt8] {
        let ordered = tensors.sorted { ($0.dtype.byteSize, $1.name) > ($1.dtype.byteSize, $0.name) }
        let header = header(ordered.map { Entry(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteCount: $0.data.count) })
        var out: [UInt8] = []
        out.reserveCapacity(header.count + ordered.reduce(0) { $0 + $1.data.count })
        out.append(contentsOf: header)
        for t in ordered { out.append(contentsOf: t.data) }
        return out
    }

    public func write(to path: String) throws {
        try writeAtomically(Data(bytes()), to: path)
    }

    /// A tensor written by `write(to:entries:data:)`, whose bytes are produced when its turn comes.
    public struct Entry {
        public var name: String
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public var byteCount: Int
        public init(name: String, dtype: SafetensorsDType, shape: [Int], byteCount: Int) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.byteCount = byteCount
        }
    }

    /// The length prefix and JSON header (padded with spaces to a multiple of 8) for tensors in file order.
    func header(_ ordered: [Entry]) -> [UInt8] {
        var fields: [(String, JSONOut)] = []
        if !metadata.isEmpty {
            fields.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for t in ordered {
            fields.append((t.name, .object([("dtype", .string(t.dtype.rawValue)), ("shape", .array(t.shape.map { .int($0) })),
                                            ("data_offsets", .array([.int(offset), .int(offset + t.byteCount)]))])))
            offset += t.byteCount
        }
        var header = Array(JSONOut.object(fields).text.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        return out + header
    }

    /// Streams a file straight from memory that stays valid during the call (`bytes(i)`: entry i's bytes, no copy
    /// made): what a checkpoint writes from the live training slab. Same file as `bytes()` for the same tensors.
    public func write(to path: String, entries: [Entry], borrowing bytes: (Int) -> UnsafeRawBufferPointer) throws {
        try write(to: path, entries: entries, chunks: { i, emit in
            let b = bytes(i)
            try emit(Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: b.baseAddress!), count: b.count, deallocator: .none))
        })
    }

    /// Streams a file tensor by tensor (the same bytes as `bytes()` for the same tensors): the header from the sizes,
    /// then `data(i)` for each entry in file order, so memory holds one tensor at a time. Temporary name + rename.
    public func write(to path: String, entries: [Entry], data: (Int) throws -> [UInt8]) throws {
        try write(to: path, entries: entries, chunks: { i, emit in
            let bytes = try data(i)
            precondition(bytes.count == entries[i].byteCount, "tensor \(entries[i].name): \(bytes.count) bytes, expected \(entries[i].byteCount)")
            try emit(Data(bytes))
        })
    }

    /// The one streaming writer behind both: header, then each entry's bytes in file order via `chunks(i, emit)`.
    private func write(to path: String, entries: [Entry], chunks: (Int, (Data) throws -> Void) throws -> Void) throws {
        let order = entries.indices.sorted { a, b in
            (entries[a].dtype.byteSize, entries[b].name) > (entries[b].dtype.byteSize, entries[a].name)
        }
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try WriteError.explaining(path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        FileManager.default.createFile(atPath: tmp.path, contents: nil)
        do {
            let handle = try WriteError.explaining(path) { try FileHandle(forWritingTo: tmp) }
            defer { try? handle.close() }
            try WriteError.explaining(path) { try handle.write(contentsOf: header(order.map { entries[$0] })) }
            for i in order {
                try chunks(i) { data in
                    precondition(data.count == entries[i].byteCount, "tensor \(entries[i].name): \(data.count) bytes, expected \(entries[i].byteCount)")
                    try WriteError.explaining(path) { try handle.write(contentsOf: data) }
                }
            }
            try WriteError.explaining(path) { try handle.close() }
            guard rename(tmp.path, url.path) == 0 else {
                throw WriteError(path: path, reason: "cannot rename the temporary file into place: \(WriteError.posixWords(errno))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }
}
