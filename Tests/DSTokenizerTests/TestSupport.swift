@testable import DSTokenizer
import Foundation
import Testing
@_exported import TestSupport

let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

func goldenPath(_ name: String) -> String { goldenDirectory.appendingPathComponent(name).path }

/// The embedded DeepSeek vocabulary, loaded once for the whole suite.
let deepseek: Tokenizer = {
    do { return try Tokenizer.embeddedDeepSeek() } catch { fatalError("embedded vocabulary: \(error)") }
}()

func temporaryDirectory() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-tok-tests-\(getpid())-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Parses llama.cpp's test-vector files: texts separated by "\n__ggml_vocab_test__\n", one id line each.
func llamaCppVectors() throws -> [(String, [TokenID])] {
    let inp = try String(contentsOfFile: goldenPath("ggml-vocab-deepseek-llm.gguf.inp"), encoding: .utf8)
    let out = try String(contentsOfFile: goldenPath("ggml-vocab-deepseek-llm.gguf.out"), encoding: .utf8)
    var texts = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
    if texts.last == "" { texts.removeLast() }
    let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    return texts.enumerated().map { i, t in
        (t, lines[i].split(separator: " ").map { TokenID($0)! })
    }
}
