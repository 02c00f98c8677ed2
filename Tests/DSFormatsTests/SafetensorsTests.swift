import DSFormats
import Foundation
import Testing
import TestSupport

@Suite struct SafetensorsTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/reference.safetensors").path

    static func tensors() -> [SafetensorsWriter.Tensor] {
        func f32(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }
        return [
            .init(name: "model.embed_tokens.weight", dtype: .f32, shape: [4, 3], data: f32((0..<12).map { Float($0) / 8 })),
            .init(name: "model.layers.0.self_attn.q_proj.weight", dtype: .bf16, shape: [2, 3],
                  data: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5].flatMap { (x: Float) -> [UInt8] in
                      let b = UInt16(x.bitPattern >> 16)
                      return [UInt8(b & 0xFF), UInt8(b >> 8)]
                  }),
            .init(name: "model.norm.weight", dtype: .f16, shape: [3], data: [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38]),
            .init(name: "counts", dtype: .i64, shape: [3],
                  data: [Int64(1), -2, 3].flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }),
            .init(name: "mask", dtype: .u8, shape: [3], data: [0, 255, 7]),
            .init(name: "empty", dtype: .f32, shape: [0, 3], data: []),
            .init(name: "scalar", dtype: .f32, shape: [], data: f32([3.25])),
        ]
    }

    @Test func readsTheReferenceFile() throws {
        let f = try SafetensorsFile(path: Self.reference)
        #expect(f.metadata == ["format": "pt", "note": "dsllm golden"])
        #expect(f.tensors.count == 7)
        for t in Self.tensors() {
            let info = try #require(f[t.name])
            #expect(info.dtype == t.dtype && info.shape == t.shape, "\(t.name)")
            #expect(Array(f.data(of: info)) == t.data, "\(t.name)")
        }
        #expect(f["scalar"]?.elementCount == 1 && f["empty"]?.elementCount == 0)
    }

    @Test func writerMatchesTheReferenceBytes() throws {
        var w = SafetensorsWriter()
        w.tensors = Self.tensors()
        w.metadata = ["format": "pt", "note": "dsllm golden"]
        let expected = try Array(Data(contentsOf: URL(fileURLWithPath: Self.reference)))
        #expect(w.bytes() == expected)
    }

    func write(_ bytes: [UInt8], _ name: String = "bad.safetensors") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-st-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func file(header: String, data: Int) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + [UInt8](repeating: 1, count: data)
    }

    @Test func badFilesGiveErrorsNamingTheTensor() throws {
        let cases: [(String, Int, String)] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4, "past the end"),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, "needs 12"),
            (#"{"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#, 8, "unknown dtype"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8, "overlaps"),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8, "gap of 4"),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 8, "not described"),
            (#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, 4, "invalid dimension"),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, 4, "begin ≤ end"),
            (#"{"a": [}"#, 0, "not valid JSON"),
        ]
        for (header, data, needle) in cases {
            let path = try write(file(header: header, data: data))
            do {
                _ = try SafetensorsFile(path: path)
                Issue.record("accepted \(header)")
            } catch {
                #expect(error.description.contains(needle), "\(error.description)")
                #expect(error.description.contains(path))
            }
        }
        // header length past the end, and absurd lengths
        var huge = withUnsafeBytes(of: UInt64(1_000).littleEndian) { Array($0) }
        huge += Array("{}".utf8)
        #expect { try SafetensorsFile(path: try write(huge)) } throws: { ($0 as? FormatError)?.message.contains("past the end") == true }
        let absurd = withUnsafeBytes(of: UInt64.max.littleEndian) { Array($0) }
        #expect { try SafetensorsFile(path: try write(absurd)) } throws: { ($0 as? FormatError)?.message.contains("exceeds") == true }
        #expect { try SafetensorsFile(path: try write([1, 2, 3])) } throws: { ($0 as? FormatError)?.message.contains("shorter") == true }
    }

    /// Every truncation and many single-byte corruptions of a valid file: an error or a valid parse, never a crash.
    @Test func mutationsNeverCrash() throws {
        let valid = try Array(Data(contentsOf: URL(fileURLWithPath: Self.reference)))
        var rng = SeededRandom(seed: 0x5AFE)  // deterministic: a failure reproduces
        var accepted = 0
        for cut in 0..<valid.count {
            if (try? SafetensorsFile(path: try write(Array(valid[..<cut]), "cut.safetensors"))) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
        for _ in 0..<2000 {
            var m = valid
            m[Int.random(in: 0..<m.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            if let f = try? SafetensorsFile(path: try write(m, "mut.safetensors")) {
                for t in f.tensors { _ = f.data(of: t).count }  // whatever parses must be in range
            }
        }
    }

    @Test func shardedCheckpoints() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-shards-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var a = SafetensorsWriter(), b = SafetensorsWriter()
        a.tensors = [.init(name: "x", dtype: .u8, shape: [2], data: [1, 2])]
        b.tensors = [.init(name: "y", dtype: .u8, shape: [1], data: [9])]
        try a.write(to: dir.appendingPathComponent("model-00001-of-00002.safetensors").path)
        try b.write(to: dir.appendingPathComponent("model-00002-of-00002.safetensors").path)
        let index = #"{"metadata": {"total_size": 3}, "weight_map": {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}}"#
        try index.write(to: dir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        let ckpt = try SafetensorsCheckpoint(directory: dir.path)
        #expect(ckpt.tensorNames == ["x", "y"])
        #expect(ckpt.data("y").map(Array.init) == [9])
        let bad = #"{"weight_map": {"x": "model-00001-of-00002.safetensors", "z": "model-00002-of-00002.safetensors"}}"#
        try bad.write(to: dir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        #expect { try SafetensorsCheckpoint(directory: dir.path) } throws: { ($0 as? FormatError)?.field == "weight_map.z" }
    }
}

@Suite struct JSONReaderTests {
    @Test func parsesAndRejects() throws {
        let v = try JSONValue.parse(Array(#"{"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00\n"], "b": {}}"#.utf8))
        #expect(v["a"]?.array?.count == 5)
        #expect(v["a"]?.array?[1].double == -2500)
        #expect(v["a"]?.array?[4].string == "xé😀\n")
        #expect(v["b"]?.object?.count == 0)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "tru", "1 2", "\"a\u{1}\""] {
            #expect(throws: JSONError.self) { try JSONValue.parse(Array(bad.utf8)) }
        }
    }
}

