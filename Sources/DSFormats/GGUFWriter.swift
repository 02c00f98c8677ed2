import Foundation

/// Writes GGUF v3 files: metadata of every value type and tensors with aligned data.
///
/// Used for tests (hand-made and corrupted files), and later for quantized exports. The file is
/// written to a temporary name and renamed, so a reader never sees half a file.
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
        u64(UInt64(tensors.count))
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
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.dimensions.count))
            for d in t.dimensions { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file via a temporary name in the same directory and a rename.
    public func write(to path: String) throws {
        try writeAtomically(Data(bytes()), to: path)
    }
}
