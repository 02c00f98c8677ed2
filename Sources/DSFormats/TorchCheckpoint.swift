import DSTensor
import Foundation

/// Element types of torch storages and tensors.
public enum TorchDType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    public var byteSize: Int {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .float16, .bfloat16, .int16: return 2
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    /// The weight types dsllm computes with; nil for the others (integer buffers, f64), which can still be read raw.
    public var ggmlType: GGMLType? {
        switch self {
        case .float32: return .f32
        case .float16: return .f16
        case .bfloat16: return .bf16
        default: return nil
        }
    }

    /// `Float` for `torch.FloatStorage`, …: the legacy typed-storage class names torch.save still writes.
    public var storageName: String {
        switch self {
        case .float32: return "Float"
        case .float16: return "Half"
        case .bfloat16: return "BFloat16"
        case .float64: return "Double"
        case .int64: return "Long"
        case .int32: return "Int"
        case .int16: return "Short"
        case .int8: return "Char"
        case .uint8: return "Byte"
        case .bool: return "Bool"
        }
    }

    public init?(storageName: String) {
        guard let t = TorchDType.allCases.first(where: { $0.storageName == storageName }) else { return nil }
        self = t
    }

    /// `torch.<name>` dtype objects, with torch's aliases (`torch.half` is `torch.float16`, …).
    public init?(pythonName: String) {
        let aliases: [String: TorchDType] = ["float": .float32, "half": .float16, "double": .float64,
                                             "long": .int64, "int": .int32, "short": .int16]
        guard let t = TorchDType(rawValue: pythonName) ?? aliases[pythonName] else { return nil }
        self = t
    }
}

/// A tensor of a torch checkpoint, checked against its storage: contiguous, row-major, in range.
public struct TorchTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: TorchDType
    /// Row-major shape, as PyTorch writes it ([out, in] for a Linear weight).
    public var shape: [Int]
    /// The storage it views (`<prefix>/data/<key>`); tied weights share one.
    public var storageKey: String
    /// Absolute byte range in the file: the storage member's data + storage offset × element size.
    public var byteRange: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// One `torch.save` file (PyTorch ≥ 1.6), read in place without executing its pickle.
///
/// Layout: a zip archive (`ZipArchive`: stored members, zip64 for multi-GB shards) whose members sit under one
/// folder of any name: `<dir>/data.pkl` (the state dict, read by `TorchUnpickler`, which allows only the globals a
/// state dict needs), `<dir>/data/<key>` (one raw little-endian storage per key), `<dir>/byteorder` (must be
/// `little` when present; older writers omit it and are little-endian) and `<dir>/.format_version` (must be `1`
/// when present: a later version may change the layout). The pickle must hold a dict or OrderedDict of name →
/// tensor; entries that are not tensors are listed in `otherKeys` and otherwise ignored. Each tensor must be
/// contiguous row-major (strides of size-1 dimensions are free, as in torch) and lie inside its storage, and each
/// storage inside its member; errors name the tensor. The legacy pre-1.6 format (a bare pickle stream) is refused.
public final class TorchCheckpointFile: @unchecked Sendable {
    public let archive: ZipArchive
    /// The member folder with its trailing slash (`archive/`, or the file's stem for other writers).
    public let prefix: String
    /// Tensors in the pickle's order.
    public let tensors: [TorchTensorInfo]
    /// Top-level keys whose values are not tensors.
    public let otherKeys: [String]
    private let index: [String: Int]

    public var file: MappedFile { archive.file }
    public var path: String { archive.path }

    public convenience init(path: String) throws(FormatError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(FormatError) {
        let b = file.bytes
        func fail(_ message: String, field: String? = nil, offset: Int? = nil) -> FormatError {
            FormatError(file: file.path, offset: offset, field: field, message: message)
        }
        guard b.count >= 4, b[0] == 0x50, b[1] == 0x4B, b[2] == 0x03, b[3] == 0x04 else {
            if b.count >= 2, b[0] == 0x80 || (b.count >= 262 && b[257] == 0x75 && b[258] == 0x73 && b[259] == 0x74) {
                throw fail("legacy torch format (before PyTorch 1.6): re-save it with torch ≥ 1.6", offset: 0)
            }
            throw fail("not a torch checkpoint: it does not start with a zip local header (PK\\x03\\x04)", offset: 0)
        }
        let archive = try ZipArchive(file: file)
        self.archive = archive
        let pickles = archive.members.filter { m in
            m.name.hasSuffix("/data.pkl") && m.name.utf8.reduce(0) { $0 + ($1 == 0x2F ? 1 : 0) } == 1
        }
        guard pickles.count == 1, let pkl = pickles.first else {
            throw fail(pickles.isEmpty ? "no <dir>/data.pkl member: not a torch.save checkpoint"
                                       : "\(pickles.count) <dir>/data.pkl members: expected one")
        }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        self.prefix = prefix
        func smallText(_ name: String) throws(FormatError) -> String? {
            guard let m = archive[prefix + name] else { return nil }
            guard m.size <= 64, let s = String(validating: archive.data(of: m), as: UTF8.self) else {
                throw fail("is not a short text", field: m.name, offset: m.dataOffset)
            }
            return s.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let order = try smallText("byteorder"), order != "little" {
            throw fail("byteorder is \"\(order)\": only little-endian checkpoints are read", field: prefix + "byteorder")
        }
        if let version = try smallText(".format_version"), version != "1" {
            throw fail("format version \"\(version)\" is not supported (this reader knows 1)", field: prefix + ".format_version")
        }
        let pickle = try TorchUnpickler.parse(archive.data(of: pkl), file: file.path, member: pkl.name, baseOffset: pkl.dataOffset)
        guard case .dict(let root) = pickle.root else {
            throw fail("the pickle holds a \(Self.kind(pickle.root)), not a dict of tensors", field: pkl.name)
        }
        var tensors: [TorchTensorInfo] = []
        var other: [String] = []
        var index: [String: Int] = [:]
        for (key, value) in pickle.dicts[root] {
            guard case .string(let name) = key else {
                throw fail("a state dict key is a \(Self.kind(key)), not a string", field: pkl.name)
            }
            guard case .tensor(let t) = value else { other.append(name); continue }
            index[name] = tensors.count
            tensors.append(try Self.check(pickle.tensors[t], storage: pickle.storages[pickle.tensors[t].storage],
                                          name: name, archive: archive, prefix: prefix))
        }
        self.tensors = tensors
        self.otherKeys = other
        self.index = index
    }

    private static func kind(_ v: PickleValue) -> String {
        switch v {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// Places a pickled tensor in the file: its storage member must exist and hold the storage, the tensor must be
    /// contiguous and lie inside the storage. Every product is overflow-checked (sizes come from the file).
    private static func check(_ t: PickledTensor, storage s: TorchStorageRef, name: String, archive: ZipArchive,
                              prefix: String) throws(FormatError) -> TorchTensorInfo {
        let memberName = prefix + "data/" + s.key
        guard let member = archive[memberName] else {
            throw FormatError(file: archive.path, field: name, message: "storage member \(memberName) is missing")
        }
        func fail(_ message: String) -> FormatError {
            FormatError(file: archive.path, offset: member.dataOffset, field: name, message: message)
        }
        guard let storageBytes = s.byteCount, storageBytes <= member.size else {
            throw fail("storage \(s.key) declares \(s.count) elements of \(s.dtype?.rawValue ?? "bytes") but its member holds \(member.size) bytes")
        }
        var count = 1
        for d in t.shape {
            let (c, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw fail("shape \(t.shape) has more elements than memory can address") }
            count = c
        }
        if count > 0 {
            var expected = 1
            for d in t.shape.indices.reversed() {
                if t.shape[d] != 1, t.stride[d] != expected {
                    throw fail("tensor is not contiguous (shape \(t.shape), stride \(t.stride)): re-save it after .contiguous()")
                }
                expected *= t.shape[d]
            }
        }
        let size = t.dtype.byteSize
        let (begin, o1) = t.storageOffset.multipliedReportingOverflow(by: size)
        let (bytes, o2) = count.multipliedReportingOverflow(by: size)
        let (end, o3) = begin.addingReportingOverflow(bytes)
        guard !o1, !o2, !o3, end <= storageBytes else {
            throw fail("tensor needs \(count) × \(t.dtype.rawValue) from element \(t.storageOffset) of storage \(s.key), "
                       + "which holds only \(storageBytes) bytes")
        }
        return TorchTensorInfo(name: name, dtype: t.dtype, shape: t.shape, storageKey: s.key,
                               byteRange: member.dataOffset + begin..<member.dataOffset + end)
    }

    public subscript(name: String) -> TorchTensorInfo? { index[name].map { tensors[$0] } }

    /// A tensor's bytes, mapped (no copy): little-endian elements of `tensor.dtype`, row-major.
    public func data(of tensor: TorchTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.byteRange])
    }

    /// The tensor's GGML type (f32, f16, bf16), or an error naming the tensor and its dtype.
    public func ggmlType(of tensor: TorchTensorInfo) throws(FormatError) -> GGMLType {
        guard let t = tensor.dtype.ggmlType else {
            throw FormatError(file: path, offset: tensor.byteRange.lowerBound, field: tensor.name,
                              message: "dtype \(tensor.dtype.rawValue) is not a weight type dsllm reads (float32, float16, bfloat16)")
        }
        return t
    }
}

/// A PyTorch checkpoint as Hugging Face ships one: a folder with `pytorch_model.bin.index.json` (weight_map: tensor
/// name → shard file in the folder), or a single `pytorch_model.bin`, or else its `pytorch_model*.bin` files; or
/// a path to one `.bin` file. Other `.bin` files in the folder (`training_args.bin` pickles arbitrary objects) are
/// never opened. Every shard stays mapped while this object lives; tensors are handed out in place.
public final class TorchCheckpoint: @unchecked Sendable {
    public let path: String
    public let shards: [TorchCheckpointFile]
    /// All tensors, shard by shard, each shard in its pickle's order.
    public let tensors: [TorchTensorInfo]
    private let location: [String: (shard: Int, index: Int)]

    public static let indexFileName = "pytorch_model.bin.index.json"
    public static let singleFileName = "pytorch_model.bin"

    /// True when `directory` holds a PyTorch checkpoint this type would open.
    public static func isCheckpoint(directory: String) -> Bool {
        !shardNames(in: directory).isEmpty
    }

    private static func shardNames(in directory: String) -> [String] {
        let fm = FileManager.default
        if fm.fileExists(atPath: (directory as NSString).appendingPathComponent(indexFileName)) { return [indexFileName] }
        if fm.fileExists(atPath: (directory as NSString).appendingPathComponent(singleFileName)) { return [singleFileName] }
        return ((try? fm.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("pytorch_model") && $0.hasSuffix(".bin") }.sorted()
    }

    /// Opens a checkpoint folder, or a single `.bin` file.
    public init(path: String) throws(FormatError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FormatError(file: path, message: "no such file or directory")
        }
        var names: [String]
        var weightMap: [String: String] = [:]
        let indexPath = (path as NSString).appendingPathComponent(Self.indexFileName)
        if !isDirectory.boolValue {
            names = [""]
        } else {
            names = Self.shardNames(in: path)
            guard !names.isEmpty else {
                throw FormatError(file: path, message: "no \(Self.indexFileName), \(Self.singleFileName) or pytorch_model*.bin files")
            }
            if names == [Self.indexFileName] {
                let m = try MappedFile(path: indexPath)
                let json: JSONValue
                do { json = try JSONValue.parse(m.bytes) } catch {
                    throw FormatError(file: indexPath, offset: error.offset, message: "not valid JSON: \(error.message)")
                }
                guard let map = json["weight_map"]?.object else {
                    throw FormatError(file: indexPath, field: "weight_map", message: "missing or not an object")
                }
                for (name, v) in map.members {
                    guard let shard = v.string, !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
                        throw FormatError(file: indexPath, field: "weight_map.\(name)", message: "must be a file name in this directory")
                    }
                    weightMap[name] = shard
                }
                names = Set(weightMap.values).sorted()
            }
        }
        var shards: [TorchCheckpointFile] = []
        var tensors: [TorchTensorInfo] = []
        var location: [String: (Int, Int)] = [:]
        for (i, name) in names.enumerated() {
            let f = try TorchCheckpointFile(path: name.isEmpty ? path : (path as NSString).appendingPathComponent(name))
            shards.append(f)
            for (j, t) in f.tensors.enumerated() {
                if let expected = weightMap[t.name], expected != name { continue }
                guard location[t.name] == nil else {
                    throw FormatError(file: f.path, field: t.name, message: "tensor appears in more than one shard")
                }
                location[t.name] = (i, j)
                tensors.append(t)
            }
        }
        for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) where location[name] == nil {
            throw FormatError(file: indexPath, field: "weight_map.\(name)", message: "tensor is not in \(shard)")
        }
        self.shards = shards
        self.tensors = tensors
        self.location = location
    }

    public var tensorNames: [String] { tensors.map(\.name) }

    public func info(_ name: String) -> TorchTensorInfo? {
        location[name].map { shards[$0.shard].tensors[$0.index] }
    }

    /// The shard file holding a tensor (for its path, or to keep its map alive).
    public func shard(of name: String) -> TorchCheckpointFile? { location[name].map { shards[$0.shard] } }

    /// A tensor's bytes, mapped in its shard (no copy).
    public func data(_ name: String) -> UnsafeRawBufferPointer? {
        guard let l = location[name] else { return nil }
        return shards[l.shard].data(of: shards[l.shard].tensors[l.index])
    }

    /// The tensor's GGML type (f32, f16, bf16), or an error naming it.
    public func ggmlType(_ name: String) throws(FormatError) -> GGMLType {
        guard let l = location[name] else { throw FormatError(file: path, field: name, message: "no such tensor") }
        return try shards[l.shard].ggmlType(of: shards[l.shard].tensors[l.index])
    }
}
