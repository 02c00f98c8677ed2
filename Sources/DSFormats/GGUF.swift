import DSTensor

/// GGUF reader (versions 1–3): header, metadata of every value type, tensor infos.
///
/// The file stays memory-mapped; large arrays (102400 vocabulary strings, 100k merges) are not
/// materialised: `GGUFArray` keeps the element offsets and hands out bytes on demand, which keeps
/// loading the DeepSeek vocabulary well under 100 ms. Layout: ggml `docs/gguf.md`.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let defaultAlignment = 32

    public let file: MappedFile
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute byte offset of the tensor data section.
    public let dataOffset: Int
    private let index: [String: Int]

    public var path: String { file.path }

    public convenience init(path: String) throws(FormatError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(FormatError) {
        self.file = file
        var r = GGUFCursor(file: file)
        let magic = try r.u32(field: "magic")
        guard magic == Self.magic else {
            throw r.error("not a GGUF file (magic 0x\(String(magic, radix: 16)), expected 0x46554747 \"GGUF\")",
                          field: "magic", at: 0)
        }
        version = try r.u32(field: "version")
        guard (1...3).contains(version) else {
            throw r.error("unsupported GGUF version \(version) (supported: 1, 2, 3)", field: "version", at: 4)
        }
        r.countsAre32Bit = version == 1
        let tensorCount = try r.count(field: "tensor_count")
        let kvCount = try r.count(field: "metadata_kv_count")

        var metadata: [(key: String, value: GGUFValue)] = []
        metadata.reserveCapacity(kvCount)
        var index: [String: Int] = [:]
        for i in 0..<kvCount {
            let key = try r.string(field: "metadata[\(i)].key")
            let rawType = try r.u32(field: key + ".type")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw r.error("unknown metadata value type \(rawType)", field: key, at: r.offset - 4)
            }
            let value = try r.value(type: type, field: key, depth: 0)
            if index[key] != nil {
                throw r.error("duplicate metadata key", field: key, at: r.offset)
            }
            index[key] = metadata.count
            metadata.append((key, value))
        }
        self.metadata = metadata
        self.index = index

        var alignment = Self.defaultAlignment
        if let a = index["general.alignment"].map({ metadata[$0].value }) {
            guard let v = a.intValue, v > 0, v % 8 == 0 else {
                throw FormatError(file: file.path, field: "general.alignment",
                                  message: "must be a positive multiple of 8, got \(a)")
            }
            alignment = v
        }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try r.string(field: "tensor[\(i)].name")
            let nDims = Int(try r.u32(field: name + ".n_dims"))
            guard (1...4).contains(nDims) else {
                throw r.error("tensor has \(nDims) dimensions (1...4 allowed)", field: name, at: r.offset - 4)
            }
            var dims: [Int] = []
            for d in 0..<nDims {
                let v = try r.u64(field: "\(name).dims[\(d)]")
                guard v <= UInt64(Int32.max) * 16 else {
                    throw r.error("dimension \(v) is not plausible", field: name, at: r.offset - 8)
                }
                dims.append(Int(v))
            }
            let type = try r.u32(field: name + ".type")
            let offset = try r.u64(field: name + ".offset")
            guard offset <= UInt64(file.count) else {
                throw r.error("tensor offset \(offset) past end of file", field: name, at: r.offset - 8)
            }
            infos.append(GGUFTensorInfo(name: name, dimensions: dims, typeID: type, relativeOffset: Int(offset)))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        for info in infos {
            guard info.relativeOffset % alignment == 0 else {
                throw FormatError(file: file.path, field: info.name,
                                  message: "tensor offset \(info.relativeOffset) is not a multiple of \(alignment)")
            }
            if let size = info.byteCount, dataOffset + info.relativeOffset + size > file.count {
                throw FormatError(file: file.path, offset: dataOffset + info.relativeOffset, field: info.name,
                                  message: "tensor data (\(size) bytes) runs past end of file (\(file.count) bytes)")
            }
        }
        self.tensors = infos
    }

    public subscript(key: String) -> GGUFValue? {
        index[key].map { metadata[$0].value }
    }

    /// A required string value; the error names the key.
    public func requireString(_ key: String) throws(FormatError) -> String {
        guard let v = self[key] else { throw missing(key) }
        guard case .string(let s) = v else { throw wrongType(key, expected: "string", got: v) }
        return s
    }

    /// A required array value; the error names the key.
    public func requireArray(_ key: String) throws(FormatError) -> GGUFArray {
        guard let v = self[key] else { throw missing(key) }
        guard case .array(let a) = v else { throw wrongType(key, expected: "array", got: v) }
        return a
    }

    /// An optional integer value of any integer type; present but non-integer is an error.
    public func optionalInt(_ key: String) throws(FormatError) -> Int? {
        guard let v = self[key] else { return nil }
        guard let i = v.intValue else { throw wrongType(key, expected: "integer", got: v) }
        return i
    }

    public func optionalBool(_ key: String) throws(FormatError) -> Bool? {
        guard let v = self[key] else { return nil }
        guard case .bool(let b) = v else { throw wrongType(key, expected: "bool", got: v) }
        return b
    }

    /// Bytes of a tensor's data, mapped (no copy).
    public func data(of tensor: GGUFTensorInfo) throws(FormatError) -> UnsafeRawBufferPointer {
        guard let size = tensor.byteCount else {
            throw FormatError(file: path, field: tensor.name, message: "unsupported ggml type \(tensor.typeID)")
        }
        let start = dataOffset + tensor.relativeOffset
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<start + size])
    }

    private func missing(_ key: String) -> FormatError {
        FormatError(file: path, field: key, message: "required key is missing")
    }

    private func wrongType(_ key: String, expected: String, got: GGUFValue) -> FormatError {
        FormatError(file: path, field: key, message: "expected \(expected), found \(got.typeName)")
    }
}

/// A tensor's entry in the GGUF header. `dimensions[0]` is ggml's `ne[0]`, the contiguous axis
/// (the reverse of the PyTorch shape).
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    public var dimensions: [Int]
    public var typeID: UInt32
    /// Offset from the start of the tensor data section.
    public var relativeOffset: Int

    public var type: GGMLType? { GGMLType(rawValue: typeID) }
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// Size in bytes, or nil for a type this reader does not know.
    public var byteCount: Int? {
        guard let t = type, dimensions[0] % t.blockSize == 0 else { return nil }
        return elementCount / t.blockSize * t.blockBytes
    }
}
