import DSFormats
import Foundation
import Testing

/// The real DeepSeek LLM vocabulary GGUF shipped in the repository.
let vocabPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Sources/DSTokenizer/Resources/ggml-vocab-deepseek-llm.gguf").path

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Suite struct GGUFReaderTests {
    @Test func readsTheRealDeepSeekVocabulary() throws {
        let f = try GGUFFile(path: vocabPath)
        #expect(f.version == 3)
        #expect(f.tensors.isEmpty)
        #expect(f.metadata.count == 23)
        #expect(f.alignment == 32)
        #expect(try f.requireString("tokenizer.ggml.model") == "gpt2")
        #expect(try f.requireString("tokenizer.ggml.pre") == "deepseek-llm")
        #expect(try f.optionalInt("tokenizer.ggml.bos_token_id") == 100000)
        #expect(try f.optionalInt("tokenizer.ggml.eos_token_id") == 100001)
        #expect(try f.optionalInt("llama.block_count") == 30)
        #expect(f["llama.attention.layer_norm_rms_epsilon"]?.doubleValue.map { abs($0 - 1e-6) < 1e-12 } == true)
        let tokens = try f.requireArray("tokenizer.ggml.tokens")
        #expect(tokens.count == 102400)
        #expect(tokens.string(at: 0) == "!")
        #expect(tokens.string(at: 207) == "Ġ")
        #expect(tokens.string(at: 100014) == "ü")
        #expect(tokens.string(at: 102399) == "[PAD102399]")
        let merges = try f.requireArray("tokenizer.ggml.merges")
        #expect(merges.count == 99757)
        #expect(merges.string(at: 0) == "Ġ Ġ")
        let types = try f.requireArray("tokenizer.ggml.token_type").integers()!
        #expect(types[100000] == 3 && types[100002] == 4 && types[5] == 1)
    }

    @Test func roundTripsEveryValueTypeAndTensors() throws {
        var w = GGUFWriter()
        w.metadata = [
            ("a.u8", .uint8(200)), ("a.i8", .int8(-5)), ("a.u16", .uint16(60000)), ("a.i16", .int16(-300)),
            ("a.u32", .uint32(4_000_000_000)), ("a.i32", .int32(-7)), ("a.f32", .float32(1.5)), ("a.bool", .bool(true)),
            ("a.str", .string("héllo ü")), ("a.u64", .uint64(1 << 40)), ("a.i64", .int64(-(1 << 40))),
            ("a.f64", .float64(-2.25)),
            ("a.arr", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
            ("a.strs", .array(.string, [.string("x"), .string(""), .string("ÿz")])),
            ("a.nested", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.float32, [.float32(0.5), .float32(2)])])),
        ]
        w.alignment = 64
        let f32 = (0..<8).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }
        w.tensors = [
            GGUFWriter.Tensor(name: "w", dimensions: [4, 2], type: .f32, data: f32),
            GGUFWriter.Tensor(name: "q", dimensions: [32], type: .q8_0, data: [UInt8](repeating: 7, count: 34)),
        ]
        let path = temporaryPath("all-types.gguf")
        try w.write(to: path)
        let f = try GGUFFile(path: path)
        #expect(f.alignment == 64)
        #expect(f["a.u8"]?.intValue == 200)
        #expect(f["a.i8"]?.intValue == -5)
        #expect(f["a.u16"]?.intValue == 60000)
        #expect(f["a.i16"]?.intValue == -300)
        #expect(f["a.u32"]?.intValue == 4_000_000_000)
        #expect(f["a.i32"]?.intValue == -7)
        #expect(f["a.f32"]?.doubleValue == 1.5)
        #expect(try f.optionalBool("a.bool") == true)
        #expect(f["a.str"]?.stringValue == "héllo ü")
        #expect(f["a.u64"]?.intValue == 1 << 40)
        #expect(f["a.i64"]?.intValue == -(1 << 40))
        #expect(f["a.f64"]?.doubleValue == -2.25)
        #expect(try f.requireArray("a.arr").integers() == [1, -2, 3])
        let strs = try f.requireArray("a.strs")
        #expect((0..<3).map { strs.string(at: $0) } == ["x", "", "ÿz"])
        let nested = try f.requireArray("a.nested")
        #expect(nested.count == 2)
        if case .array(let inner) = nested[1] { #expect(inner.floats() == [0.5, 2]) } else { Issue.record("not nested") }
        #expect(f.tensors.map(\.name) == ["w", "q"])
        #expect(f.tensors[0].dimensions == [4, 2] && f.tensors[0].type == .f32 && f.tensors[0].byteCount == 32)
        #expect(f.tensors[1].byteCount == 34)
        #expect(f.dataOffset % 64 == 0)
        let data = try f.data(of: f.tensors[0])
        #expect(data.loadUnaligned(fromByteOffset: 12, as: Float.self) == 3)
        #expect(Array(try f.data(of: f.tensors[1])) == [UInt8](repeating: 7, count: 34))
    }

    /// Every truncation of a valid file is rejected with an error naming a field, never a crash.
    @Test func truncatedFilesGiveClearErrors() throws {
        var w = GGUFWriter()
        w.metadata = [("general.name", .string("tiny")), ("t.list", .array(.string, [.string("ab"), .string("c")]))]
        w.tensors = [GGUFWriter.Tensor(name: "x", dimensions: [2], type: .f32, data: [UInt8](repeating: 0, count: 8))]
        let full = w.bytes()
        let path = temporaryPath("truncated.gguf")
        // The file ends with the tensor's 8 data bytes plus alignment padding, which is optional.
        let required = full.count - (GGUFFile.defaultAlignment - 8)
        for cut in 0..<required {
            try Data(full[..<cut]).write(to: URL(fileURLWithPath: path))
            do {
                _ = try GGUFFile(path: path)
                Issue.record("truncation at \(cut) was accepted")
            } catch {
                #expect(error.file == path)
                #expect(error.field != nil || error.message.contains("end of file"), "\(error)")
            }
        }
    }

    @Test func rejectsBadMagicVersionAndTypes() throws {
        let path = temporaryPath("bad.gguf")
        try Data("GGML\u{3}\0\0\0".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try GGUFFile(path: path) } throws: { ($0 as? FormatError)?.field == "magic" }

        var good = GGUFWriter()
        good.metadata = [("k", .uint32(1))]
        var bytes = good.bytes()
        bytes[4] = 9  // version 9
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try GGUFFile(path: path) } throws: { ($0 as? FormatError)?.field == "version" }

        bytes = good.bytes()
        // the value type of "k" sits after magic, version, two counts, key length and key
        let typeOffset = 4 + 4 + 8 + 8 + 8 + 1
        bytes[typeOffset] = 42
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try GGUFFile(path: path) } throws: { error in
            let e = error as? FormatError
            return e?.field == "k" && e?.offset == typeOffset && e!.description.contains("unknown metadata value type 42")
        }

        // a count larger than the file
        bytes = good.bytes()
        bytes[16] = 0xFF; bytes[17] = 0xFF; bytes[18] = 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try GGUFFile(path: path) } throws: { ($0 as? FormatError)?.field == "metadata_kv_count" }

        #expect { try GGUFFile(path: "/nonexistent/x.gguf") } throws: { ($0 as? FormatError)?.message.contains("cannot open") == true }
    }
}
