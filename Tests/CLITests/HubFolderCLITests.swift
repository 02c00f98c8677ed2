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
}
