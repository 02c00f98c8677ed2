import DSGeneration
import DSModel
import DSTokenizer
import Foundation
import Testing

@Suite struct TokenIteratorTests {
    static let weights: ModelWeights = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-gen-tests-\(getpid())").path
        try! RandomModel.write(RandomModel.tinyConfig(vocabularySize: 512, maxPositions: 128), to: dir, seed: 5, scale: 0.5)
        return try! ModelWeights.load(path: dir)
    }()

    func run(_ p: GenerateParameters, prompt: [Int32] = [1, 2, 3, 4]) -> [Int32] {
        let it = TokenIterator(model: Transformer(weights: Self.weights), tokenizer: nil, prompt: prompt, parameters: p)
        return it.map(\.id)
    }

    @Test func greedyEqualsTheModelsGreedy() {
        let ours = run(.greedy(maxTokens: 12))
        #expect(ours == Transformer(weights: Self.weights).greedy(prompt: [1, 2, 3, 4], count: 12))
    }

    @Test func seededSamplingIsReproducible() {
        var p = GenerateParameters()
        p.maxTokens = 20
        p.temperature = 1.5
        p.seed = 99
        let a = run(p), b = run(p)
        p.seed = 100
        #expect(a == b && a.count == 20)
        #expect(run(p) != a)
    }

    @Test func stopIDsAndMaxTokensEndGeneration() {
        let greedy = run(.greedy(maxTokens: 12))
        var p = GenerateParameters.greedy(maxTokens: 12)
        p.stopIDs = [greedy[5]]
        let it = TokenIterator(model: Transformer(weights: Self.weights), tokenizer: nil, prompt: [1, 2, 3, 4], parameters: p)
        let ids = it.map(\.id)
        #expect(ids == Array(greedy[...greedy.firstIndex(of: greedy[5])!]))
        #expect(it.finishReason == .stop)
        let it2 = TokenIterator(model: Transformer(weights: Self.weights), tokenizer: nil, prompt: [1, 2, 3, 4], parameters: .greedy(maxTokens: 3))
        #expect(it2.map(\.id).count == 3 && it2.finishReason == .length)
    }

    @Test func contextLimitEndsWithLength() {
        let model = Transformer(weights: Self.weights, maxSequence: 8)
        let it = TokenIterator(model: model, tokenizer: nil, prompt: [1, 2, 3, 4], parameters: .greedy(maxTokens: 50))
        let n = it.map(\.id).count
        #expect(n == 5 && it.finishReason == .length)  // 4 prompt + 4 fed back = 8 positions, +1 sampled from the last
    }

    @Test func cancelStopsBeforeTheNextToken() {
        let it = TokenIterator(model: Transformer(weights: Self.weights), tokenizer: nil, prompt: [1, 2, 3], parameters: .greedy(maxTokens: 50))
        _ = it.next(); _ = it.next()
        it.cancel()
        #expect(it.next() == nil && it.finishReason == .cancelled && it.generated.count == 2)
    }
}
