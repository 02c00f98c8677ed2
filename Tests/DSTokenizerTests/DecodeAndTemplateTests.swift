@testable import DSTokenizer
import Foundation
import Testing

@Suite struct StreamingDetokenizerTests {
    @Test func neverEmitsPartialCharacters() throws {
        let texts = ["Hello 👋🏽 world", "深度求索致力于", "Γειά σου κόσμε", "mixed ü and 😀😀😀 and नमस्ते", "plain"]
        for text in texts {
            let ids = deepseek.encode(text)
            var stream = StreamingDetokenizer(tokenizer: deepseek)
            var pieces: [String] = []
            for id in ids { pieces.append(try stream.append(id)) }
            pieces.append(stream.flush())
            #expect(pieces.joined() == text)
            for p in pieces { #expect(!p.unicodeScalars.contains("\u{FFFD}"), "partial character in \(text)") }
        }
    }

    @Test func invalidSequencesBecomeReplacementCharacters() throws {
        // byte token 0xE4 (first byte of a 3-byte character) then "a": the E4 can never complete.
        let e4 = deepseek.model.byteToken[0xE4]
        var stream = StreamingDetokenizer(tokenizer: deepseek)
        #expect(try stream.append(e4) == "")
        #expect(try stream.append(deepseek.encode("a")[0]) == "\u{FFFD}a")
        #expect(try stream.append(e4) == "")
        #expect(stream.flush() == "\u{FFFD}")
        #expect(throws: TokenizerError.invalidTokenID(999_999, vocabularySize: 102400)) { try stream.append(999_999) }
    }

    @Test func specialTokensAreSkippedOrRendered() throws {
        let ids: [TokenID] = [100000, 17464, 100001]
        #expect(try deepseek.decode(ids, skipSpecial: true) == "Hello")
        #expect(try deepseek.decode(ids) == "<｜begin▁of▁sentence｜>Hello<｜end▁of▁sentence｜>")
        #expect(try deepseek.decode([100014]) == "ü")
    }
}

@Suite struct ChatTemplateTests {
    @Test func rendersExactlyAsTheHFTemplate() {
        let t = DeepSeekChatTemplate()
        let msgs = [ChatMessage(role: .system, content: "S"), ChatMessage(role: .user, content: "u1"),
                    ChatMessage(role: .assistant, content: "a1"), ChatMessage(role: .user, content: "u2")]
        #expect(t.render(msgs, addGenerationPrompt: true)
            == "<｜begin▁of▁sentence｜>S\n\nUser: u1\n\nAssistant: a1<｜end▁of▁sentence｜>User: u2\n\nAssistant:")
        #expect(t.render(Array(msgs.dropFirst()), addGenerationPrompt: false)
            == "<｜begin▁of▁sentence｜>User: u1\n\nAssistant: a1<｜end▁of▁sentence｜>User: u2\n\n")
        #expect(t.render([], addGenerationPrompt: true) == "<｜begin▁of▁sentence｜>Assistant:")
    }

    @Test func chatEncodingHasOneBOSAndRealEOS() {
        let ids = deepseek.encodeChat([ChatMessage(role: .user, content: "Hi"), ChatMessage(role: .assistant, content: "Yo"),
                                       ChatMessage(role: .user, content: "Again")])
        #expect(ids.first == 100000)
        #expect(ids.filter { $0 == 100000 }.count == 1)
        #expect(ids.contains(100001))
        #expect(Array(ids.suffix(2)) == deepseek.encode("Assistant:").suffix(2))
    }
}
