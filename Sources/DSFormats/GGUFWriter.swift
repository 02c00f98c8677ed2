import DSTensor
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes GGUF v3 files: metadata of every value type and tensors with aligned data.
///
/// Writes `dsllm quantize` / `convert`'s GGUF models (ModelExport, tensors streamed one at a time) and the tests'
/// hand-made and corrupted files (in memory). The file is written to a temporary name and renamed, so a reader
/// never sees half a file.
public struct GGUFWriter {
    public enum Value {
        case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
        case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
        case array(GGUFValueType, [Value])
    }

    public struct Tensor {
        public var name: String
        /// ggml order: dimensions[0] is the contiguous axis.
        public var dimensions: [Int]
        public var type: GGMLType
        public var data: [UInt8]
        public init(name: String, dimensions: [Int], type: GGMLType, data: [UInt8]) {
            self.name = name
            self.dimensions = dimensions
            self.type = type
            self.data = data
        }
    }

    public var metadata: [(String, Value)] = []
    public var tensors: [Tensor] = []
    public var alignment = GGUFFile.defaultAlignment

    public init() {}

    /// The complete file image.
    public func bytes() -> [UInt8] {
        var out = header(tensorSizes: tensors.map { (name: $0.name, dimensions: $0.dimensions, type: $0.type, byteCount: $0.data.count) })
        for t in tensors {
            out.append(contentsOf: t.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Header, metadata and tensor infos for tensors of the given sizes, padded to the alignment.
    public func header(tensorSizes: [(name: String, dimensions: [Int], type: GGMLType, byteCount: Int)]) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func typeOf(_ v: Value) -> GGUFValueType {
            switch v {
            case .uint8: return .uint8
            case .int8: return .int8
            case .uint16: return .uint16
            case .int16: return .int16
            case .uint32: return .uint32
            case .int32: return .int32
            case .float32: return .float32
            case .bool: return .bool
            case .string: return .string
            case .uint64: return .uint64
            case .int64: return .int64
            case .float64: return .float64
            case .array: return .array
            }
        }
        func value(_ v: Value) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .float32(let x): u32(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): str(s)
            case .uint64(let x): u64(x)
            case .int64(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .float64(let x): u64(x.bitPattern)
            case .array(let t, let items):
                u32(t.rawValue)
                u64(UInt64(items.count))
                for item in items { value(item) }
            }
        }
        u32(GGUFFile.magic)
        u32(3)
        u64(UInt64(tensorSizes.count))
        var kvs = metadata
        if alignment != GGUFFile.defaultAlignment, !kvs.contains(where: { $0.0 == "general.alignment" }) {
            kvs.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        u64(UInt64(kvs.count))
        for (k, v) in kvs {
            str(k)
            u32(typeOf(v).rawValue)
            value(v)
        }
        var offset = 0
        for t in tensorSizes {
            str(t.name)
            u32(UInt32(t.dimensions.count))
            for d in t.dimensions { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offset += (t.byteCount + alignment - 1) / alignment * alignment
        }
        while out.count % alignment != 0 { out.append(0) }
        return out
    }

    /// Writes a file whose tensor data is produced one tensor at a time by `data(i)` (for models too
    /// large to hold twice in memory), via a temporary file and a rename.
    public func write(to path: String, tensorSizes: [(name: String, dimensions: [Int], type: GGMLType, byteCount: Int)],
                      data: (Int) throws -> [UInt8]) throws {
        let url = URL(fileURLWithPath: path)
        try WriteError.explaining(path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        FileManager.default.createFile(atPath: tmp.path, contents: nil)
        do {
            let handle = try WriteError.explaining(path) { try FileHandle(forWritingTo: tmp) }
            defer { try? handle.close() }
            try handle.write(contentsOf: header(tensorSizes: tensorSizes))
            for (i, t) in tensorSizes.enumerated() {
                var bytes = try data(i)
                precondition(bytes.count == t.byteCount, "tensor \(t.name): \(bytes.count) bytes, expected \(t.byteCount)")
                while bytes.count % alignment != 0 { bytes.append(0) }
                try handle.write(contentsOf: bytes)
            }
            try handle.close()
            guard rename(tmp.path, url.path) == 0 else {
                let why = WriteError.posixWords(errno)
                throw WriteError(path: path, reason: WriteError.diagnose(path) ?? "cannot rename the temporary file into place: \(why)")
            }
        } catch let error as WriteError {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            // Errors from `data(i)` are about the input (a tensor that cannot be encoded), not the write: keep them.
            if error is CocoaError || (error as NSError).domain == NSPOSIXErrorDomain { throw WriteError(path: path, error: error) }
            throw error
        }
    }

    /// Writes the file via a temporary name in the same directory and a rename.
    public func write(to path: String) throws {
        try writeAtomically(Data(bytes()), to: path)
    }
}

extension GGUFWriter.Value {
    /// The writer's form of a value read from a GGUF file (for copying metadata between files).
    public init(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): self = .uint8(x)
        case .int8(let x): self = .int8(x)
        case .uint16(let x): self = .uint16(x)
        case .int16(let x): self = .int16(x)
        case .uint32(let x): self = .uint32(x)
        case .int32(let x): self = .int32(x)
        case .float32(let x): self = .float32(x)
        case .bool(let x): self = .bool(x)
        case .string(let s): self = .string(s)
        case .uint64(let x): self = .uint64(x)
        case .int64(let x): self = .int64(x)
        case .float64(let x): self = .float64(x)
        case .array(let a): self = .array(a.elementType, (0..<a.count).map { GGUFWriter.Value(a[$0]) })
        }
    }
}
