import DSFormats
import DSTensor
import Foundation
import Testing
import TestSupport

/// PyTorch `.bin` checkpoints: files built here byte by byte as torch.save writes them (no torch needed), and
/// hostile ones that must be refused without anything in them running.
@Suite struct TorchCheckpointTests {
    func expectFixture(_ f: TorchCheckpointFile) throws {
        #expect(f.tensors.map(\.name) == TorchFixture.tensors.map(\.name))
        #expect(f.otherKeys.isEmpty)
        let embed = try #require(f["model.embed_tokens.weight"])
        #expect(embed.dtype == .float32 && embed.shape == [2, 3] && embed.storageKey == "0")
        #expect(floats(f.data(of: embed), .float32) == TorchFixture.f32Values)
        let head = try #require(f["lm_head.weight"])
        #expect(head.byteRange == embed.byteRange)  // tied: one storage, same bytes
        let norm = try #require(f["model.norm.weight"])
        #expect(norm.shape == [3] && floats(f.data(of: norm), .float32) == [1.5, 2, 2.5])
        #expect(norm.byteRange.lowerBound == embed.byteRange.lowerBound + 12)
        let q = try #require(f["model.layers.0.self_attn.q_proj.weight"])
        #expect(q.dtype == .bfloat16 && q.shape == [2, 2] && q.elementCount == 4)
        #expect(floats(f.data(of: q), .bfloat16) == TorchFixture.bf16Values)
        #expect(try f.ggmlType(of: q) == .bf16 && f.ggmlType(of: embed) == .f32)
        // torch's writer aligns storages to 64 bytes; the mapped pointer is that address.
        #expect(embed.byteRange.lowerBound % 64 == 0 && q.byteRange.lowerBound % 64 == 0)
        for m in f.archive.members { try f.archive.verifyChecksum(of: m) }
    }

    @Test func readsATorchSaveFile() throws {
        let dir = try torchTempDir("read")
        let path = dir + "/pytorch_model.bin"
        try writeBytes(TorchFixture.file(dir: "pytorch_model"), path)
        let f = try TorchCheckpointFile(path: path)
        #expect(f.prefix == "pytorch_model/" && !f.archive.isZip64)
        try expectFixture(f)
        // The same through the folder loader and through a path to the file.
        for p in [dir, path] {
            let c = try TorchCheckpoint(path: p)
            #expect(c.tensorNames == TorchFixture.tensors.map(\.name))
            #expect(c.data("model.norm.weight").map { floats($0, .float32) } == [1.5, 2, 2.5])
            #expect(try c.ggmlType("model.layers.0.self_attn.q_proj.weight") == .bf16)
        }
        #expect(TorchCheckpoint.isCheckpoint(directory: dir))
    }

    @Test func readsZip64() throws {
        let path = try torchTempDir("zip64") + "/z.bin"
        try writeBytes(TorchFixture.file(zip64: true), path)
        let f = try TorchCheckpointFile(path: path)
        #expect(f.archive.isZip64)
        try expectFixture(f)
    }

    /// A plain dict, a parameter wrapper, untyped storage with `_rebuild_tensor_v3`, a state dict's `_metadata`
    /// (BUILD), protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL), LONG1 integers, other dtypes.
    @Test func acceptsOtherWriterVariants() throws {
        var p = PickleBytes(protocol: 4)
        p.op(0x95); p.b += [UInt8](repeating: 0, count: 8)  // FRAME
        func short(_ s: String) { p.op(0x8C, UInt8(s.utf8.count)); p.b += Array(s.utf8); p.op(0x94) }
        short("collections"); short("OrderedDict"); p.op(0x93, 0x94, 0x29, 0x52, 0x94)  // OrderedDict()
        p.op(0x28)
        short("w")
        short("torch._utils"); short("_rebuild_parameter"); p.op(0x93, 0x94)
        short("torch._utils"); short("_rebuild_tensor_v3"); p.op(0x93, 0x94)
        p.op(0x28)
        p.op(0x28); short("storage"); short("torch"); short("UntypedStorage"); p.op(0x93); short("k"); short("cuda:0")
        p.long1(8); p.op(0x74, 0x51)  // 8 bytes, untyped
        p.long1(1); p.intTuple([3]); p.intTuple([1]); p.op(0x89)
        p.op(0x7D)  // hooks: a plain dict
        short("torch"); short("bfloat16"); p.op(0x93)
        p.op(0x74, 0x52)  // _rebuild_tensor_v3(...)
        p.op(0x88, 0x7D, 0x87, 0x52)  // _rebuild_parameter(tensor, True, {})
        short("step"); p.int(-7)
        short("ids"); p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28, 0x28); p.string("storage"); p.global("torch", "LongStorage"); p.string("i"); p.string("cpu"); p.int(2); p.op(0x74, 0x51)
        p.int(0); p.intTuple([2]); p.intTuple([1]); p.op(0x89); p.orderedDict(); p.op(0x74, 0x52)
        short("eps"); p.op(0x47); p.b += withUnsafeBytes(of: (1e-6).bitPattern.bigEndian) { Array($0) }
        p.op(0x75)  // SETITEMS
        p.op(0x7D, 0x28); short("_metadata"); p.op(0x7D, 0x75, 0x62)  // BUILD {'_metadata': {}}
        p.op(0x2E)
        let bytes = torchFile(pickle: p.b, storages: [("k", bf16Bytes([7, 1, 2, 3])), ("i", [5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0])])
        let path = try torchTempDir("variants") + "/v.bin"
        try writeBytes(bytes, path)
        let f = try TorchCheckpointFile(path: path)
        #expect(f.tensors.map(\.name) == ["w", "ids"] && f.otherKeys == ["step", "eps"])
        let w = try #require(f["w"])
        #expect(w.dtype == .bfloat16 && w.shape == [3] && floats(f.data(of: w), .bfloat16) == [1, 2, 3])
        let ids = try #require(f["ids"])
        #expect(ids.dtype == .int64 && Array(f.data(of: ids)) == [5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0])
        #expect { try f.ggmlType(of: ids) } throws: { ($0 as? FormatError)?.field == "ids" && "\($0)".contains("int64") }
        // A plain-dict top level, as HF's sharded save writes it.
        try writeBytes(torchFile(pickle: torchPickle(TorchFixture.tensors, orderedDict: false), storages: TorchFixture.storages), path)
        try expectFixture(try TorchCheckpointFile(path: path))
    }

    @Test func shardedFolders() throws {
        let dir = try torchTempDir("shards")
        let a = Array(TorchFixture.tensors[0...2]), b = [TorchFixture.tensors[3]]
        try writeBytes(torchFile(pickle: torchPickle(a), storages: [TorchFixture.storages[0]], dir: "pytorch_model-00001-of-00002"),
                       dir + "/pytorch_model-00001-of-00002.bin")
        try writeBytes(torchFile(pickle: torchPickle(b), storages: [TorchFixture.storages[1]], dir: "pytorch_model-00002-of-00002"),
                       dir + "/pytorch_model-00002-of-00002.bin")
        // A hostile pickle beside the weights, as training_args.bin is an arbitrary pickle: never opened.
        try writeBytes(Array("garbage".utf8), dir + "/training_args.bin")
        let map = TorchFixture.tensors.enumerated().map { "\"\($1.name)\": \"pytorch_model-0000\($0 < 3 ? 1 : 2)-of-00002.bin\"" }
        let index = "{\"metadata\": {\"total_size\": 32}, \"weight_map\": {\(map.joined(separator: ", "))}}"
        try index.write(toFile: dir + "/pytorch_model.bin.index.json", atomically: true, encoding: .utf8)
        let c = try TorchCheckpoint(path: dir)
        #expect(c.shards.count == 2 && c.tensorNames == TorchFixture.tensors.map(\.name))
        #expect(c.data("model.layers.0.self_attn.q_proj.weight").map { floats($0, .bfloat16) } == TorchFixture.bf16Values)
        #expect(c.shard(of: "lm_head.weight")?.path.hasSuffix("00001-of-00002.bin") == true)
        #expect(c.data("lm_head.weight").map { floats($0, .float32) } == TorchFixture.f32Values)
        let bad = #"{"weight_map": {"lm_head.weight": "pytorch_model-00001-of-00002.bin", "x": "pytorch_model-00002-of-00002.bin"}}"#
        try bad.write(toFile: dir + "/pytorch_model.bin.index.json", atomically: true, encoding: .utf8)
        #expect { try TorchCheckpoint(path: dir) } throws: { ($0 as? FormatError)?.field == "weight_map.x" }
        try #"{"weight_map": {"a": "../evil.bin"}}"#.write(toFile: dir + "/pytorch_model.bin.index.json", atomically: true, encoding: .utf8)
        #expect { try TorchCheckpoint(path: dir) } throws: { ($0 as? FormatError)?.field == "weight_map.a" }
        // Without an index, the pytorch_model*.bin files in name order.
        try FileManager.default.removeItem(atPath: dir + "/pytorch_model.bin.index.json")
        #expect(try TorchCheckpoint(path: dir).tensors.count == 4)
        let empty = try torchTempDir("empty")
        #expect(!TorchCheckpoint.isCheckpoint(directory: empty))
        #expect { try TorchCheckpoint(path: empty) } throws: { "\($0)".contains("pytorch_model.bin") }
    }

    // MARK: hostile files

    static let dangerous = [("os", "system"), ("posix", "system"), ("nt", "system"), ("builtins", "eval"), ("builtins", "exec"),
                            ("builtins", "open"), ("__builtin__", "eval"), ("subprocess", "Popen"), ("subprocess", "check_output"),
                            ("torch", "load"), ("torch._utils", "_load_from_bytes"), ("collections", "namedtuple")]

    /// `callable(argument)` via GLOBAL (protocol 2) or STACK_GLOBAL (protocol 4), then REDUCE, as a file's whole
    /// pickle or hidden as a tensor's backward hooks.
    func hostilePickle(_ module: String, _ name: String, stackGlobal: Bool, command: String, inside: Bool) -> [UInt8] {
        var p = PickleBytes(protocol: stackGlobal ? 4 : 2)
        func call() {
            if stackGlobal { p.string(module); p.string(name); p.op(0x93) } else { p.global(module, name) }
            p.string(command); p.op(0x85, 0x52)
        }
        guard inside else { call(); p.op(0x2E); return p.b }
        p.op(0x7D, 0x28); p.string("w"); p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28, 0x28); p.string("storage"); p.global("torch", "FloatStorage"); p.string("0"); p.string("cpu"); p.int(6); p.op(0x74, 0x51)
        p.int(0); p.intTuple([6]); p.intTuple([1]); p.op(0x89)
        call()
        p.op(0x74, 0x52, 0x75, 0x2E)
        return p.b
    }

    @Test func refusesPicklesThatCallAnything() throws {
        let dir = try torchTempDir("hostile")
        let marker = dir + "/pwned"
        for (module, name) in Self.dangerous {
            for stackGlobal in [false, true] {
                for inside in [false, true] {
                    let pkl = hostilePickle(module, name, stackGlobal: stackGlobal, command: "touch \(marker)", inside: inside)
                    let path = dir + "/h.bin"
                    try writeBytes(torchFile(pickle: pkl, storages: TorchFixture.storages), path)
                    do {
                        _ = try TorchCheckpointFile(path: path)
                        Issue.record("accepted \(module).\(name)")
                    } catch {
                        #expect(error.message.contains("global \(module).\(name) is not allowed"), "\(error)")
                        #expect(error.field == "archive/data.pkl" && error.offset != nil)
                    }
                    #expect(throws: FormatError.self) { try pkl.withUnsafeBytes { try TorchUnpickler.parse($0, file: "x", member: "m") } }
                }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
        // Allowed globals used in a way torch never does, and opcodes outside the allow-list.
        let misuse: [([UInt8], String)] = [
            ([0x80, 0x02] + Array("ctorch\nFloatStorage\nK".utf8) + [0x06, 0x85, 0x52, 0x2E], "not be called"),
            ([0x80, 0x02] + Array("ctorch._utils\n_rebuild_tensor_v2\n)R.".utf8), "expects"),
            ([0x80, 0x02, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x4B, 0x01, 0x85, 0x52, 0x2E], "no arguments"),
            ([0x80, 0x02, 0x28, 0x63] + Array("os\nsystem\n".utf8) + [0x69], "os.system"),
            ([0x80, 0x02, 0x28, 0x69] + Array("os\nsystem\n".utf8) + [0x2E], "opcode 0x69"),   // INST
            ([0x80, 0x02, 0x50] + Array("0\n".utf8) + [0x2E], "opcode 0x50"),                  // PERSID (text)
            ([0x80, 0x02, 0x82, 0x01, 0x2E], "opcode 0x82"),                                   // EXT1 (copyreg registry)
            ([0x80, 0x02, 0x7D, 0x4B, 0x01, 0x62, 0x2E], "BUILD state"),
            ([0x80, 0x02, 0x4B, 0x01, 0x29, 0x62, 0x2E], "BUILD is allowed only"),
            ([0x80, 0x02, 0x4B, 0x01, 0x51, 0x2E], "persistent id"),
            ([0x80, 0x02, 0x68, 0x05, 0x2E], "memo entry 5"),
            ([0x80, 0x02, 0x29, 0x52, 0x2E], "stack underflow"),
            ([0x80, 0x02, 0x4B, 0x01, 0x28, 0x85, 0x2E], "stack underflow"),  // a MARK fences the stack
            ([0x80, 0x02, 0x7D], "without STOP"),
            ([0x80, 0x01, 0x2E], "protocol 1"),
            ([0x80, 0x02, 0x58, 0xF0, 0xFF, 0xFF, 0xFF, 0x41], "runs past the end"),
            ([0x80, 0x02, 0x8D] + [UInt8](repeating: 0xFF, count: 8), "runs past the end"),
            ([0x80, 0x02, 0x8A, 0x09] + [UInt8](repeating: 1, count: 9) + [0x2E], "64 bits"),
            ([0x80, 0x02, 0x8C, 0x02, 0xC3, 0x28, 0x2E], "UTF-8"),
            ([0x80, 0x02, 0x63] + [UInt8](repeating: 0x61, count: 400), "at most 256"),
        ]
        for (bytes, needle) in misuse {
            #expect(performing: { try bytes.withUnsafeBytes { try TorchUnpickler.parse($0, file: "x", member: "m") } },
                    throws: { "\($0)".contains(needle) })
        }
        // A top level that is not a dict, and a state dict whose key is not a string.
        let path = dir + "/h.bin"
        try writeBytes(torchFile(pickle: [0x80, 0x02, 0x5D, 0x2E], storages: []), path)
        #expect { try TorchCheckpointFile(path: path) } throws: { "\($0)".contains("list, not a dict") }
        try writeBytes(torchFile(pickle: [0x80, 0x02, 0x7D, 0x4B, 0x01, 0x4B, 0x02, 0x73, 0x2E], storages: []), path)
        #expect { try TorchCheckpointFile(path: path) } throws: { "\($0)".contains("key is a int") }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    /// Each structural fault gives a FormatError naming what is wrong.
    @Test func refusesBrokenContainersAndTensors() throws {
        let dir = try torchTempDir("broken")
        func check(_ bytes: [UInt8], _ needle: String, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let path = dir + "/b.bin"
            try writeBytes(bytes, path)
            do {
                _ = try TorchCheckpointFile(path: path)
                Issue.record("accepted a file that should fail with \(needle)", sourceLocation: sourceLocation)
            } catch {
                #expect(error.description.contains(needle), "\(error)", sourceLocation: sourceLocation)
                #expect(error.file == path, sourceLocation: sourceLocation)
                if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
            }
        }
        let good = TorchFixture.file()
        func tensors(_ change: (inout [FakeTensor]) -> Void, storages: [(key: String, data: [UInt8])] = TorchFixture.storages) -> [UInt8] {
            var t = TorchFixture.tensors
            change(&t)
            return torchFile(pickle: torchPickle(t), storages: storages)
        }
        try check(torchFile(pickle: torchPickle(TorchFixture.tensors), storages: TorchFixture.storages, deflated: "data/1"),
                  "compressed (method 8, deflate)", field: "archive/data/1")
        try check(tensors { $0[2].offset = 4 }, "which holds only 24 bytes", field: "model.norm.weight")
        try check(tensors { $0[3].shape = [3, 2] }, "holds only 8 bytes", field: "model.layers.0.self_attn.q_proj.weight")
        try check(tensors({ _ in }, storages: [("0", f32Bytes([1, 2])), TorchFixture.storages[1]]), "its member holds 8 bytes",
                  field: "model.embed_tokens.weight")
        try check(tensors { $0[0].stride = [1, 2] }, "not contiguous", field: "model.embed_tokens.weight")
        try check(tensors { $0[0].shape = [1 << 40, 1 << 40] }, "more elements than memory", field: "model.embed_tokens.weight")
        try check(tensors { for i in 0...2 { $0[i].numel = 1 << 40 } }, "declares 1099511627776 elements of float32 but its member holds 24",
                  field: "model.embed_tokens.weight")
        try check(tensors { $0[0].numel = Int.max / 2 }, "more than memory can address", field: "archive/data.pkl")
        try check(tensors { $0[1].numel = 7 }, "storage 0 is declared twice with different types or sizes", field: "archive/data.pkl")
        try check(tensors { $0[3].key = "7"; $0[3].numel = 0 }, "storage member archive/data/7 is missing")
        try check(tensors { $0[3].storage = "Quantum" }, "global torch.QuantumStorage is not allowed")
        try check(torchFile(pickle: torchPickle(TorchFixture.tensors), storages: TorchFixture.storages, byteorder: "big"), "little-endian")
        try check(zipBytes([("a/data.pkl", [0x80, 0x02, 0x7D, 0x2E]), ("a/.format_version", [0x32])]), "format version \"2\"")
        try check(zipBytes([("a/other.pkl", [0x80, 0x02, 0x7D, 0x2E])]), "no <dir>/data.pkl")
        try check([0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 40), "legacy torch format")
        try check(Array("not a zip at all".utf8), "not a torch checkpoint")
        try check(Array(good[..<(good.count - 1)]), "no zip end-of-central-directory")
        // Out-of-range offsets and sizes, patched into the central directory.
        let cd = try #require(centralDirectoryStart(good))
        var far = good
        far.replaceSubrange(cd + 42..<cd + 46, with: [0xF0, 0xFF, 0xFF, 0x7F])
        try check(far, "local header offset 2147483632 is past the end", field: "archive/data.pkl")
        var big = good
        big.replaceSubrange(cd + 20..<cd + 28, with: [0xF0, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0xFF])
        try check(big, "runs past the end of the file", field: "archive/data.pkl")
        var bigz = TorchFixture.file(zip64: true)
        let cdz = try #require(centralDirectoryStart(bigz))
        let nameLength = Int(bigz[cdz + 28]) | Int(bigz[cdz + 29]) << 8
        bigz.replaceSubrange(cdz + 46 + nameLength + 4..<cdz + 46 + nameLength + 20, with: [UInt8](repeating: 0x7F, count: 16))
        try check(bigz, "runs past the end of the file", field: "archive/data.pkl")
        var count = good
        count.replaceSubrange(good.count - 14..<good.count - 10, with: [1, 0, 2, 0])  // entries on this disk / in all
        try check(count, "multi-disk")
        count.replaceSubrange(good.count - 14..<good.count - 10, with: [0xFE, 0xFF, 0xFE, 0xFF])
        try check(count, "cannot fit")
    }

    /// Every truncation and a few hundred random corruptions of a valid file (zip structure and pickle alike):
    /// an error or a consistent result, never a crash, never anything run.
    @Test func mutationsNeverCrash() throws {
        let dir = try torchTempDir("mutate")
        let path = dir + "/m.bin"
        var rng = SeededRandom(seed: 0x70C4)  // deterministic: a failure reproduces
        for zip64 in [false, true] {
            let valid = TorchFixture.file(zip64: zip64)
            for cut in stride(from: 0, to: valid.count, by: 7) {
                try writeBytes(Array(valid[..<cut]), path)
                #expect(throws: FormatError.self) { try TorchCheckpointFile(path: path) }
            }
            // Bias the flips toward the structures: the pickle and the central directory sit in a few hundred bytes.
            let pklStart = 30 + "archive/data.pkl".utf8.count
            let cdStart = try #require(centralDirectoryStart(valid))
            var accepted = 0
            for i in 0..<400 {
                var m = valid
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at: Int
                    switch i % 3 {
                    case 0: at = Int.random(in: 0..<m.count, using: &rng)
                    case 1: at = Int.random(in: pklStart..<min(m.count, pklStart + 64 + 512), using: &rng)
                    default: at = Int.random(in: cdStart..<m.count, using: &rng)
                    }
                    m[at] = i % 5 == 0 ? m[at] ^ UInt8(1 << Int.random(in: 0..<8, using: &rng)) : UInt8.random(in: 0...255, using: &rng)
                }
                if i % 10 == 9 { m.removeLast(Int.random(in: 1..<100, using: &rng)) }
                try writeBytes(m, path)
                if let f = try? TorchCheckpointFile(path: path) {
                    accepted += 1
                    for t in f.tensors {
                        #expect(t.byteRange.upperBound <= f.file.count)
                        _ = f.data(of: t).reduce(0) { $0 &+ Int($1) }
                    }
                }
            }
            #expect(accepted < 400)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.bin"])
    }
}
