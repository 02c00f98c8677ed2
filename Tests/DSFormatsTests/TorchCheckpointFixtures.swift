import DSFormats
import Foundation

/// Pickle bytes written opcode by opcode, the way Python's pickler emits them for torch.save (protocol 2 unless
/// told otherwise). Strings and globals are memoized and fetched again with BINGET, as the real pickler does.
struct PickleBytes {
    var b: [UInt8] = []
    var memo: [String: Int] = [:]
    var nextMemo = 0

    init(protocol p: UInt8 = 2) { b = [0x80, p] }

    mutating func put() {
        if nextMemo < 256 { b += [0x71, UInt8(nextMemo)] } else { b.append(0x72); le32(UInt32(nextMemo)) }
        nextMemo += 1
    }
    mutating func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    /// Emits `key`'s memoized value if there is one; otherwise runs `emit`, memoizes and remembers it.
    mutating func cached(_ key: String, _ emit: (inout PickleBytes) -> Void) {
        if let i = memo[key] {
            if i < 256 { b += [0x68, UInt8(i)] } else { b.append(0x6A); le32(UInt32(i)) }
            return
        }
        emit(&self)
        memo[key] = nextMemo
        put()
    }
    mutating func global(_ module: String, _ name: String) {
        cached("g:\(module).\(name)") { $0.b += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    }
    mutating func string(_ s: String) {
        cached("s:\(s)") { p in
            p.b.append(0x58); p.le32(UInt32(s.utf8.count)); p.b += Array(s.utf8)
        }
    }
    /// BININT1 / BININT2 / BININT / LONG1, the smallest that fits, as pickle chooses.
    mutating func int(_ v: Int) {
        if (0...0xFF).contains(v) { b += [0x4B, UInt8(v)] }
        else if (0...0xFFFF).contains(v) { b += [0x4D, UInt8(v & 0xFF), UInt8(v >> 8)] }
        else if Int(Int32.min)...Int(Int32.max) ~= v { b.append(0x4A); le32(UInt32(bitPattern: Int32(v))) }
        else { long1(v) }
    }
    mutating func long1(_ v: Int) {
        var bytes = withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) }
        while bytes.count > 1, (bytes.last == 0 && bytes[bytes.count - 2] < 0x80) || (bytes.last == 0xFF && bytes[bytes.count - 2] >= 0x80) {
            bytes.removeLast()
        }
        b += [0x8A, UInt8(bytes.count)] + bytes
    }
    /// A tuple of ints: EMPTY_TUPLE, TUPLE1-3 or MARK … TUPLE, memoized (not the empty one).
    mutating func intTuple(_ xs: [Int]) {
        if xs.isEmpty { b.append(0x29); return }
        if xs.count > 3 { b.append(0x28) }
        for x in xs { int(x) }
        b.append(xs.count > 3 ? 0x74 : UInt8(0x84 + xs.count))
        put()
    }
    mutating func op(_ bytes: UInt8...) { b += bytes }
    mutating func orderedDict() {
        global("collections", "OrderedDict"); op(0x29, 0x52); put()  // OrderedDict() via REDUCE
    }
}

/// A tensor of a hand-built checkpoint.
struct FakeTensor {
    var name: String
    var key: String
    var storage: String  // "Float", "BFloat16", … (torch.<X>Storage)
    var numel: Int
    var offset: Int
    var shape: [Int]
    var stride: [Int]? = nil  // row-major when nil

    var strides: [Int] {
        if let stride { return stride }
        var s = [Int](repeating: 1, count: shape.count)
        for i in shape.indices.dropLast().reversed() { s[i] = s[i + 1] * shape[i + 1] }
        return s
    }
}

/// The data.pkl torch.save writes for an OrderedDict (or dict) of tensors.
func torchPickle(_ tensors: [FakeTensor], orderedDict: Bool = true) -> [UInt8] {
    var p = PickleBytes()
    if orderedDict { p.orderedDict() } else { p.op(0x7D); p.put() }
    p.op(0x28)  // MARK
    for t in tensors {
        p.string(t.name)
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28)
        p.op(0x28)  // the persistent id tuple
        p.string("storage"); p.global("torch", "\(t.storage)Storage"); p.string(t.key); p.string("cpu"); p.int(t.numel)
        p.op(0x74); p.put()
        p.op(0x51)  // BINPERSID
        p.int(t.offset)
        p.intTuple(t.shape)
        p.intTuple(t.strides)
        p.op(0x89)  // requires_grad False
        p.orderedDict()  // backward_hooks
        p.op(0x74); p.put()
        p.op(0x52); p.put()
    }
    p.op(0x75, 0x2E)  // SETITEMS, STOP
    return p.b
}

/// A zip archive written the way torch's writer lays it out: stored members, data 64-byte aligned by an "FB"
/// padding extra field, optionally with zip64 records and extra fields throughout.
func zipBytes(_ members: [(name: String, data: [UInt8])], zip64: Bool = false, deflated: String? = nil) -> [UInt8] {
    var out: [UInt8] = []
    func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func u32(_ v: UInt32, _ into: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { into += $0 } }
    func u64(_ v: UInt64, _ into: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { into += $0 } }
    var central: [UInt8] = []
    for m in members {
        let crc = m.data.withUnsafeBytes { ZipArchive.crc32($0) }
        let offset = out.count
        let name = Array(m.name.utf8)
        var extra: [UInt8] = []
        if zip64 { u16(1, &extra); u16(16, &extra); u64(UInt64(m.data.count), &extra); u64(UInt64(m.data.count), &extra) }
        let pad = (64 - (offset + 30 + name.count + extra.count + 4) % 64) % 64
        extra += [0x46, 0x42]; u16(pad, &extra); extra += [UInt8](repeating: 0, count: pad)
        let method = m.name == deflated ? 8 : 0
        u32(0x0403_4B50, &out); u16(zip64 ? 45 : 20, &out); u16(0, &out); u16(method, &out); u16(0, &out); u16(0x21, &out)
        u32(crc, &out)
        u32(zip64 ? 0xFFFF_FFFF : UInt32(m.data.count), &out); u32(zip64 ? 0xFFFF_FFFF : UInt32(m.data.count), &out)
        u16(name.count, &out); u16(extra.count, &out)
        out += name + extra + m.data
        var cextra: [UInt8] = []
        if zip64 {
            u16(1, &cextra); u16(24, &cextra)
            u64(UInt64(m.data.count), &cextra); u64(UInt64(m.data.count), &cextra); u64(UInt64(offset), &cextra)
        }
        u32(0x0201_4B50, &central); u16(zip64 ? 45 : 20, &central); u16(zip64 ? 45 : 20, &central); u16(0, &central)
        u16(method, &central); u16(0, &central); u16(0x21, &central); u32(crc, &central)
        u32(zip64 ? 0xFFFF_FFFF : UInt32(m.data.count), &central); u32(zip64 ? 0xFFFF_FFFF : UInt32(m.data.count), &central)
        u16(name.count, &central); u16(cextra.count, &central); u16(0, &central); u16(0, &central); u16(0, &central)
        u32(0, &central); u32(zip64 ? 0xFFFF_FFFF : UInt32(offset), &central)
        central += name + cextra
    }
    let cdOffset = out.count
    out += central
    if zip64 {
        let record = out.count
        u32(0x0606_4B50, &out); u64(44, &out); u16(45, &out); u16(45, &out); u32(0, &out); u32(0, &out)
        u64(UInt64(members.count), &out); u64(UInt64(members.count), &out)
        u64(UInt64(central.count), &out); u64(UInt64(cdOffset), &out)
        u32(0x0706_4B50, &out); u32(0, &out); u64(UInt64(record), &out); u32(1, &out)
    }
    u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out)
    u16(zip64 ? 0xFFFF : members.count, &out); u16(zip64 ? 0xFFFF : members.count, &out)
    u32(zip64 ? 0xFFFF_FFFF : UInt32(central.count), &out); u32(zip64 ? 0xFFFF_FFFF : UInt32(cdOffset), &out)
    u16(0, &out)
    return out
}

/// A whole torch.save file: data.pkl, the storages, byteorder and the version records under `dir/`.
func torchFile(pickle: [UInt8], storages: [(key: String, data: [UInt8])], dir: String = "archive", zip64: Bool = false,
               byteorder: String = "little", deflated: String? = nil) -> [UInt8] {
    var members: [(name: String, data: [UInt8])] = [("\(dir)/data.pkl", pickle)]
    members.append(("\(dir)/.format_version", Array("1".utf8)))
    members.append(("\(dir)/.storage_alignment", Array("64".utf8)))
    members.append(("\(dir)/byteorder", Array(byteorder.utf8)))
    for s in storages { members.append(("\(dir)/data/\(s.key)", s.data)) }
    members.append(("\(dir)/version", Array("3\n".utf8)))
    return zipBytes(members, zip64: zip64, deflated: deflated.map { "\(dir)/\($0)" })
}

func f32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }
func bf16Bytes(_ v: [Float]) -> [UInt8] {
    v.flatMap { (x: Float) -> [UInt8] in let h = UInt16(x.bitPattern >> 16); return [UInt8(h & 0xFF), UInt8(h >> 8)] }
}
func floats(_ data: UnsafeRawBufferPointer, _ type: TorchDType) -> [Float] {
    switch type {
    case .float32: return (0..<data.count / 4).map { Float(bitPattern: data.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
    case .bfloat16: return (0..<data.count / 2).map { Float(bitPattern: UInt32(data.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
    default: return []
    }
}

/// The standard fixture: an f32 storage shared by three tensors (tied embedding/head, and a row at an offset) and
/// a bf16 storage.
enum TorchFixture {
    static let f32Values: [Float] = [0, 0.5, 1, 1.5, 2, 2.5]
    static let bf16Values: [Float] = [-2, -1, 1, 2]
    static let tensors = [
        FakeTensor(name: "model.embed_tokens.weight", key: "0", storage: "Float", numel: 6, offset: 0, shape: [2, 3]),
        FakeTensor(name: "lm_head.weight", key: "0", storage: "Float", numel: 6, offset: 0, shape: [2, 3]),
        FakeTensor(name: "model.norm.weight", key: "0", storage: "Float", numel: 6, offset: 3, shape: [3]),
        FakeTensor(name: "model.layers.0.self_attn.q_proj.weight", key: "1", storage: "BFloat16", numel: 4, offset: 0, shape: [2, 2]),
    ]
    static var storages: [(key: String, data: [UInt8])] { [("0", f32Bytes(f32Values)), ("1", bf16Bytes(bf16Values))] }
    static func file(zip64: Bool = false, dir: String = "archive") -> [UInt8] {
        torchFile(pickle: torchPickle(tensors), storages: storages, dir: dir, zip64: zip64)
    }
}

/// A fresh temporary folder for one test.
func torchTempDir(_ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-torch-\(getpid())-\(name)").path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func writeBytes(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Where the first central directory entry (PK\x01\x02) starts.
func centralDirectoryStart(_ bytes: [UInt8]) -> Int? {
    let signature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
    return (0..<bytes.count - 4).first { Array(bytes[$0..<$0 + 4]) == signature }
}
