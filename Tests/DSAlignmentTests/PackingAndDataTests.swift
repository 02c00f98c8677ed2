@testable import DSAlignment
import DSModel
import DSTokenizer
import DSTraining
import Foundation
import Testing

@Suite struct PackingAndDataTests {
    /// Packed sequences give each sequence exactly the loss it has alone (positions restart, attention is cut).
    @Test func packedRowEqualsSequencesRunAlone() {
        let config = ModelConfig(vocabularySize: 50, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, kvHeadCount: 2,
                                 maxPositions: 64, rmsNormEps: 1e-6, ropeTheta: 10000)
        let slab = ParameterSlab(config: config)
        slab.initialize(seed: 3, std: 0.2)
        let a = MaskedSequence(ids: [1, 5, 7, 9, 11, 3], mask: [false, false, true, true, true, true])
        let b = MaskedSequence(ids: [2, 4, 6, 8, 10, 12, 14], mask: [false, true, true, false, true, true, true])
        let packed = PackedRows([a, b], seq: 16)
        #expect(packed.rows == 1 && packed.spans.map(\.start) == [0, 6])
        let model = TrainingModel(slab: slab, batch: 1, seq: 16, threads: 1)
        var rowLosses = [Float](repeating: 0, count: 16)
        model.forward(inputs: packed.inputs, targets: packed.targets, positions: packed.positions, rowLosses: &rowLosses)
        for (k, s) in [a, b].enumerated() {
            let alone = PackedRows([s], seq: 16)
            var own = [Float](repeating: 0, count: 16)
            model.forward(inputs: alone.inputs, targets: alone.targets, positions: alone.positions, rowLosses: &own)
            let start = packed.spans[k].start
            for j in 0..<s.ids.count { #expect(abs(rowLosses[start + j] - own[j]) < 1e-5, "sequence \(k) token \(j)") }
        }
        // Unmasked: the cross-document keys would change the second sequence's losses.
        var leaky = [Float](repeating: 0, count: 16)
        model.forward(inputs: packed.inputs, targets: packed.targets, rowLosses: &leaky)
        #expect(zip(leaky[6..<13], rowLosses[6..<13]).contains { abs($0 - $1) > 1e-3 })
        // The last token of a sequence predicts nothing; masked-out labels are ignored.
        #expect(packed.targets[5] == -1 && packed.targets[6 + 2] == -1 && packed.targets[6 + 1] == 6)
    }

    func write(_ lines: [String]) -> String {
        let path = NSTemporaryDirectory() + "dsllm-align-\(UUID().uuidString).jsonl"
        try! lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func badChatLinesAreCountedWithLineNumbers() throws {
        let enc = ChatEncoder(tokenizer: try Tokenizer.load(tokenizerJSON: AlignmentGoldenTests.dir + "/tokenizer.json"))
        let long = String(repeating: "word ", count: 400)
        let path = write([
            #"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}"#,
            #"{"messages": [{"role": "user", "content": "hi"}]}"#,
            #"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"#,
            #"{"text": "no messages"}"#,
            "",
            #"{"messages": [{"role": "robot", "content": "x"}]}"#,
            #"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}"#,
            #"{"messages": [{"role": "user", "content": "\#(long)"}, {"role": "assistant", "content": "late"}]}"#,
            #"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "\#(long)"}]}"#,
        ])
        let (examples, report) = try AlignmentData.readChat(path, encoder: enc, maxLength: 64)
        #expect(examples.count == 2 && report.kept == 2 && report.truncated == 1 && report.lines == 8)
        #expect(report.skipped["no assistant turn"] == [2])
        #expect(report.skipped["malformed JSON"] == [3])
        #expect(report.skipped["no \"messages\" list"] == [4])
        #expect(report.skipped["a message without a known role or string content"] == [6])
        #expect(report.skipped["empty assistant reply"] == [7])
        #expect(report.skipped["no assistant token within --max-length"] == [8])
        #expect(examples.allSatisfy { $0.ids.count <= 64 && $0.labelCount > 0 })
        #expect(report.description.contains("line 3"))
    }

    @Test func badPreferenceLinesAreCounted() throws {
        let enc = ChatEncoder(tokenizer: try Tokenizer.load(tokenizerJSON: AlignmentGoldenTests.dir + "/tokenizer.json"))
        let long = String(repeating: "word ", count: 400)
        let path = write([
            #"{"prompt": "Q:", "chosen": " yes", "rejected": " no"}"#,
            #"{"prompt": [{"role": "user", "content": "Q"}], "chosen": "yes", "rejected": ""}"#,
            #"{"messages": [{"role": "user", "content": "Q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#,
            #"{"prompt": "\#(long)", "chosen": "a", "rejected": "b"}"#,
            #"{"prompt": "short", "chosen": "\#(long)", "rejected": "b"}"#,
            #"not json"#,
            #"{"prompt": [{"role": "user", "content": "Q"}], "chosen": "yes"}"#,
        ])
        let (pairs, report) = try AlignmentData.readPreferences(path, encoder: enc, maxLength: 64)
        #expect(pairs.count == 3 && report.truncated == 1)
        #expect(report.skipped["empty chosen or rejected"] == [2])
        #expect(report.skipped["prompt alone fills --max-length"] == [4])
        #expect(report.skipped["malformed JSON"] == [6])
        #expect(report.skipped["missing chosen or rejected"] == [7])
        #expect(pairs.allSatisfy { $0.prompt.count + max($0.chosen.count, $0.rejected.count) <= 64 && !$0.chosen.isEmpty })
    }

    @Test func unreadableFileIsAnErrorNamingIt() {
        let enc = ChatEncoder(tokenizer: try! Tokenizer.load(tokenizerJSON: AlignmentGoldenTests.dir + "/tokenizer.json"))
        #expect(throws: (any Error).self) { try AlignmentData.readChat("/nonexistent/chat.jsonl", encoder: enc, maxLength: 64) }
    }
}
