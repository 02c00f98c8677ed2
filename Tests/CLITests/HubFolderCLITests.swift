import Foundation
import Testing

/// The CLI on an official-layout PyTorch folder (bf16 .bin shards + generation_config.json with eos_token_id [1, 2]).
@Suite struct HubFolderCLITests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DSModelTests/Golden/hub-bin/bf16-sharded").path

    @Test func everyEOSOfGenerationConfigStopsGenerate() throws {
        // id 2 is the second of generation_config's eos ids (config.json's own EOS is 2 too, the first is 1).
        for (bias, stops) in [("2=100", true), ("1=100", true), ("7=100", false)] {
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
        let score = try runDSLLM(["score", "--model", out, "--ids", "5 17 200 31 64 9 128", "--json"])
        #expect(score.out.contains("\"mean_nll\": 5.4395"), "\(score.out)")
    }
}
