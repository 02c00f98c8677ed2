/// Metadata value types, as numbered in the GGUF specification.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Fixed element size in bytes (nil for string and array).
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}

/// One metadata value.
public enum GGUFValue: Sendable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFArray)

    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var typeName: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        case .array(let a): return "array[\(a.count) × \(a.elementType)]"
        }
    }

    public var description: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let s): return "\"\(s)\""
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .array(let a): return typeName + (a.count > 0 && a.elementType != .array ? " [\(a[0]), …]" : "")
        }
    }
}

/// An array value, left in the mapped file. Strings are located once at parse time
/// (they are length-prefixed, so the parser has to walk them anyway) and decoded on demand.
public struct GGUFArray: Sendable {
    public let elementType: GGUFValueType
    public let count: Int
    let file: MappedFile
    /// Absolute offset of the first element (fixed-size types).
    let start: Int
    /// For string arrays: absolute offsets of each string's bytes, plus one past the last (count + 1 entries,
    /// each string i spans stringStarts[i]..<stringEnds[i]).
    let stringStarts: [Int]
    let stringEnds: [Int]
    let nested: [GGUFArray]

    /// Element i as a value (any element type).
    public subscript(i: Int) -> GGUFValue {
        precondition(i >= 0 && i < count, "GGUFArray index out of range")
        switch elementType {
        case .string: return .string(string(at: i))
        case .array: return .array(nested[i])
        default:
            let size = elementType.fixedSize!
            return GGUFCursor.scalar(elementType, bytes: file.bytes, at: start + i * size)
        }
    }

    /// The raw UTF-8 bytes of string element i (mapped, no copy).
    public func stringBytes(at i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[stringStarts[i]..<stringEnds[i]])
    }

    public func string(at i: Int) -> String {
        String(decoding: stringBytes(at: i), as: UTF8.self)
    }

    /// Integer elements widened to Int, or nil when the element type is not an integer type.
    public func integers() -> [Int]? {
        guard let size = elementType.fixedSize, elementType != .float32, elementType != .float64,
              elementType != .bool else { return nil }
        let bytes = file.bytes
        return (0..<count).map { GGUFCursor.scalar(elementType, bytes: bytes, at: start + $0 * size).intValue ?? 0 }
    }

    /// Float elements, or nil when the element type is not float32/float64.
    public func floats() -> [Float]? {
        guard elementType == .float32 || elementType == .float64 else { return nil }
        let size = elementType.fixedSize!
        let bytes = file.bytes
        return (0..<count).map { Float(GGUFCursor.scalar(elementType, bytes: bytes, at: start + $0 * size).doubleValue!) }
    }
}

/// Bounds-checked little-endian reader over the mapped file; every failure names the field and offset.
struct GGUFCursor {
    let file: MappedFile
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    var countsAre32Bit = false

    init(file: MappedFile) {
        self.file = file
        self.bytes = file.bytes
    }

    func error(_ message: String, field: @autoclosure () -> String, at offset: Int) -> FormatError {
        FormatError(file: file.path, offset: offset, field: field(), message: message)
    }

    mutating func need(_ n: Int, field: @autoclosure () -> String) throws(FormatError) {
        guard n >= 0, offset <= bytes.count - n else {
            throw error("unexpected end of file (need \(n) bytes, \(bytes.count - offset) left)", field: field(), at: offset)
        }
    }

    mutating func u32(field: @autoclosure () -> String) throws(FormatError) -> UInt32 {
        try need(4, field: field())
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64(field: @autoclosure () -> String) throws(FormatError) -> UInt64 {
        try need(8, field: field())
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A count or length: u64 in v2/v3, u32 in v1. Rejects counts that cannot fit in the file.
    mutating func count(field: @autoclosure () -> String) throws(FormatError) -> Int {
        let at = offset
        let v = countsAre32Bit ? UInt64(try u32(field: field())) : try u64(field: field())
        guard v <= UInt64(bytes.count) else {
            throw error("count \(v) exceeds the file size (\(bytes.count) bytes)", field: field(), at: at)
        }
        return Int(v)
    }

    /// Skips a length-prefixed string, returning the byte range of its content.
    mutating func stringRange(field: @autoclosure () -> String) throws(FormatError) -> Range<Int> {
        let n = try count(field: field())
        try need(n, field: field())
        defer { offset += n }
        return offset..<offset + n
    }

    mutating func string(field: @autoclosure () -> String) throws(FormatError) -> String {
        let r = try stringRange(field: field())
        let raw = UnsafeRawBufferPointer(rebasing: bytes[r])
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw error("string is not valid UTF-8", field: field(), at: r.lowerBound)
        }
        return s
    }

    static func scalar(_ type: GGUFValueType, bytes: UnsafeRawBufferPointer, at o: Int) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(bytes[o])
        case .int8: return .int8(Int8(bitPattern: bytes[o]))
        case .bool: return .bool(bytes[o] != 0)
        case .uint16: return .uint16(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        case .int16: return .int16(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int16.self)))
        case .uint32: return .uint32(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
        case .int32: return .int32(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int32.self)))
        case .float32:
            return .float32(Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self))))
        case .uint64: return .uint64(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
        case .int64: return .int64(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: Int64.self)))
        case .float64:
            return .float64(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
        case .string, .array: fatalError("not a scalar type")
        }
    }

    mutating func value(type: GGUFValueType, field: String, depth: Int) throws(FormatError) -> GGUFValue {
        switch type {
        case .string:
            return .string(try string(field: field))
        case .array:
            return .array(try array(field: field, depth: depth))
        default:
            let size = type.fixedSize!
            try need(size, field: field)
            defer { offset += size }
            if type == .bool, bytes[offset] > 1 {
                throw error("bool value \(bytes[offset]) is neither 0 nor 1", field: field, at: offset)
            }
            return Self.scalar(type, bytes: bytes, at: offset)
        }
    }

    mutating func array(field: String, depth: Int) throws(FormatError) -> GGUFArray {
        guard depth < 8 else { throw error("arrays nested too deeply", field: field, at: offset) }
        let typeAt = offset
        let raw = try u32(field: field + ".element_type")
        guard let elementType = GGUFValueType(rawValue: raw) else {
            throw error("unknown array element type \(raw)", field: field, at: typeAt)
        }
        let n = try count(field: field + ".count")
        let start = offset
        var starts: [Int] = []
        var ends: [Int] = []
        var nested: [GGUFArray] = []
        switch elementType {
        case .string:
            starts.reserveCapacity(n)
            ends.reserveCapacity(n)
            for i in 0..<n {
                let r = try stringRange(field: "\(field)[\(i)]")
                starts.append(r.lowerBound)
                ends.append(r.upperBound)
            }
        case .array:
            for i in 0..<n { nested.append(try array(field: "\(field)[\(i)]", depth: depth + 1)) }
        default:
            let size = elementType.fixedSize!
            guard n <= (bytes.count - offset) / size else {
                throw error("array of \(n) × \(elementType) runs past end of file", field: field, at: start)
            }
            offset += n * size
        }
        return GGUFArray(elementType: elementType, count: n, file: file, start: start,
                         stringStarts: starts, stringEnds: ends, nested: nested)
    }
}
