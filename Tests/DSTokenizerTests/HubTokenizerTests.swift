@testable import DSTokenizer
import Foundation
import Testing

/// tokenizer.json + tokenizer_config.json in the hub's form (tools/make_hub_fixture.py): DeepSeek's Split patterns
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
}
