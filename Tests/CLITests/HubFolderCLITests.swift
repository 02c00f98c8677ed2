import Foundation
import Testing

/// The CLI on an official-layout PyTorch folder (bf16 .bin shards + generation_config.json with eos_token_id [301, 2],
/// tokenizer.json + tokenizer_config.json as the hub ships them).
@Suite struct HubFolderCLITests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DSModelTests/Golden/hub-bin/bf16-sharded").path

    @Test func everyEOSOfGenerationConfigStopsGenerate() throws {
        // 301 is the tokenizer's EOS and generation_config's first eos id; 2 the second (config.json's EOS is 2 too).
        for (bias, stops) in [("301=100", true), ("2=100", true), ("7=100", false)] {
            let r = try runDSLLM(["generate", "--model", Self.folder, "--prompt-ids", "5 17 200", "--max-tokens", "3",
                                  "--temperature", "0", "--logit-bias", bias, "--json"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.contains(stops ? "\"finish_reason\": \"stop\"" : "\"finish_reason\": \"length\""), "\(bias): \(r.out)")
        }
    }

    @Test func convertWritesSafetensorsAndKeepsGenerationConfig() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-hub-convert-\(getpid())").path
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try runDSLLM(["convert", "--in", Self.folder, "--out", out, "--type", "bf16"])
        #expect(r.status == 0, "\(r.err)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(Set(files).isSuperset(of: ["config.json", "model.safetensors", "generation_config.json"]), "\(files)")
        // The release's tokenizer and generation files travel byte for byte.
        for name in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            #expect(FileManager.default.contents(atPath: out + "/" + name) == FileManager.default.contents(atPath: Self.folder + "/" + name), "\(name)")
        }
        let score = try runDSLLM(["score", "--model", out, "--ids", "5 17 200 31 64 9 128", "--json"])
        let nll = try #require(Self.jsonNumber("mean_nll", in: score.out), "\(score.out)")
        let ref = try Self.golden()["reference"] as! [[String: Any]]
        let expected = ref[0]["mean_nll"] as! Double
        #expect(abs(nll - expected) / expected < 1e-4, "\(nll) vs \(expected)")
    }

    /// `--max-shard-size` splits as save_pretrained does: shards + index, loadable, the same numbers.
    @Test func convertShardsLikeSavePretrained() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-hub-shards-\(getpid())").path
        try? FileManager.default.removeItem(atPath: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try runDSLLM(["convert", "--in", Self.folder, "--out", out, "--type", "bf16", "--max-shard-size", "100KB"])
        #expect(r.status == 0, "\(r.err)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let shards = files.filter { $0.hasSuffix(".safetensors") }
        #expect(shards.count >= 3 && !files.contains("model.safetensors"), "\(files)")
        #expect(shards.allSatisfy { $0.hasPrefix("model-0000") && $0.contains("-of-0000\(shards.count)") }, "\(shards)")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors.index.json"))) as! [String: Any]
        let map = index["weight_map"] as! [String: String]
        #expect(map.count == 21 && Set(map.values) == Set(shards))
        var total = 0
        for shard in shards {
            let size = try FileManager.default.attributesOfItem(atPath: out + "/" + shard)[.size] as! Int
            #expect(size < 100_000 + 4096, "\(shard): \(size) bytes")  // tensors ≤ 100 KB plus the header
            total += size
        }
        let totalSize = (index["metadata"] as! [String: Any])["total_size"] as! Int
        #expect(totalSize <= total)
        let score = try runDSLLM(["score", "--model", out, "--ids", "5 17 200 31 64 9 128", "--json"])
        let nll = try #require(Self.jsonNumber("mean_nll", in: score.out), "\(score.out)")
        let expected = (try Self.golden()["reference"] as! [[String: Any]])[0]["mean_nll"] as! Double
        #expect(abs(nll - expected) / expected < 1e-4, "\(nll) vs \(expected)")
        let bad = try runDSLLM(["convert", "--in", Self.folder, "--out", out + "-x", "--max-shard-size", "lots"])
        #expect(bad.status != 0 && bad.err.contains("--max-shard-size lots"), "\(bad.err)")
    }

    /// `tokenize` with the folder as --tokenizer: transformers' ids for each text (BOS first) and for the chat prompt.
    @Test func tokenizeMatchesTransformersOnTheFoldersTokenizer() throws {
        let tok = try Self.golden()["tokenizer"] as! [String: Any]
        var cases = (tok["encodings"] as! [[String: Any]]).map { ($0["text"] as! String, $0["ids"] as! [Int], true) }
        cases.append((tok["chat_text"] as! String, tok["chat_ids"] as! [Int], false))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-hub-text-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        for (text, ids, bos) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            let r = try runDSLLM(["tokenize", "--tokenizer", Self.folder, "--file", file] + (bos ? ["--bos"] : []))
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } == ids, "\(text.debugDescription)")
        }
    }

    static func golden() throws -> [String: Any] {
        let url = URL(fileURLWithPath: folder).deletingLastPathComponent().appendingPathComponent("golden.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static func jsonNumber(_ key: String, in text: String) -> Double? {
        guard let r = text.range(of: "\"\(key)\": ") else { return nil }
        return Double(text[r.upperBound...].prefix { "0123456789.-e".contains($0) })
    }
}
