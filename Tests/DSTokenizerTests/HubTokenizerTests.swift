@testable import DSTokenizer
import Foundation
import Testing

/// tokenizer.json + tokenizer_config.json in the hub's form (tools/golden/make_hub_fixture.py): DeepSeek's Split patterns
/// with literal characters, BOS/EOS as AddedToken objects, add_bos_token, the chat template; ids from transformers.
@Suite struct HubTokenizerTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DSModelTests/Golden/hub-bin")

    struct Golden: Decodable {
        struct Encoding: Decodable { var text: String; var ids: [Int32] }
        struct Message: Decodable { var role: String; var content: String }
        struct Tok: Decodable {
            var bos_token_id: Int32
            var eos_token_id: Int32
            var encodings: [Encoding]
            var messages: [Message]
            var chat_text: String
            var chat_ids: [Int32]
        }
        var tokenizer: Tok
    }

    @Test func folderTokenizerMatchesTransformers() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("golden.json"))
        let g = try JSONDecoder().decode(Golden.self, from: data).tokenizer
        let t = try Tokenizer.load(path: Self.folder.appendingPathComponent("bf16-sharded").path)
        #expect(t.preTokenizer == .deepseekLLM)
        #expect(t.bosID == g.bos_token_id && t.eosID == g.eos_token_id)
        #expect(t.addBOSByDefault, "tokenizer_config.json says add_bos_token = true")
        for e in g.encodings {
            let ids = t.encode(e.text, addBOS: t.addBOSByDefault)
            #expect(ids == e.ids, "\(e.text.debugDescription)")
            // Decoding drops nothing but BOS.
            #expect(try t.decode(Array(ids.dropFirst())) == e.text, "\(e.text.debugDescription)")
        }
        let messages = g.messages.map { ChatMessage(role: ChatMessage.Role(rawValue: $0.role)!, content: $0.content) }
        #expect(t.deepseekChatTemplate.render(messages, addGenerationPrompt: true) == g.chat_text)
        #expect(t.encodeChat(messages) == g.chat_ids)
    }

    /// `"normalizer": {"type": "Sequence", "normalizers": []}` is how some files say "none": accepted, same ids;
    /// a non-empty Sequence is still refused by name.
    @Test func emptyNormalizerSequenceIsNoNormalizer() throws {
        let source = Self.folder.appendingPathComponent("bf16-sharded/tokenizer.json")
        var json = try String(contentsOf: source, encoding: .utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-hub-norm-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokenizer.json")
        try #require(json.contains("\"normalizer\": null"))
        json = json.replacingOccurrences(of: "\"normalizer\": null", with: "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": []}")
        try json.write(to: file, atomically: true, encoding: .utf8)
        let a = try Tokenizer.load(path: source.path), b = try Tokenizer.load(path: file.path)
        #expect(b.encode("Hello, world! 12345") == a.encode("Hello, world! 12345"))
        try json.replacingOccurrences(of: "\"normalizers\": []", with: "\"normalizers\": [{\"type\": \"NFC\"}]")
            .write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.self) { _ = try Tokenizer.load(path: file.path) }
    }
}
