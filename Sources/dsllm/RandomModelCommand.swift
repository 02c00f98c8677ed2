import ArgumentParser
import DSFormats
import DSModel
import DSTokenizer
import Foundation

/// A model to try the tools on without downloading one: seeded random DeepSeek-architecture weights with the
/// embedded DeepSeek tokenizer (what the server's end-to-end and load tests run on).
struct RandomModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-model",
        abstract: "Write a small random DeepSeek-architecture model (config.json, model.safetensors, tokenizer.json).")

    @Option(help: "Output directory.") var out: String
    @OptionGroup var output: OverwriteOption
    @Option(help: "Seed for the weights.") var seed: UInt64 = 1
    @Option(help: "Transformer layers.") var layers = 2
    @Option(help: "Hidden size (a multiple of 32).") var hidden = 128
    @Option(help: "Context length.") var context = 2048

    func run() throws {
        let tok = try Tokenizer.embeddedDeepSeek()
        var c = RandomModel.tinyConfig(vocabularySize: tok.vocabularySize, maxPositions: context)
        guard hidden % 32 == 0, hidden >= 32 else { throw CLIError("--hidden must be a multiple of 32") }
        c = ModelConfig(vocabularySize: c.vocabularySize, hiddenSize: hidden, intermediateSize: hidden * 11 / 4 / 32 * 32,
                        layerCount: layers, headCount: hidden / 32, kvHeadCount: max(1, hidden / 64), maxPositions: context,
                        bosTokenID: c.bosTokenID, eosTokenID: c.eosTokenID)
        // The tensors are built in memory before the file is written: check that they fit first.
        try checkMemory(MemoryEstimate.modelFile(c, bytesPerParameter: 2), hint: "lower --hidden / --layers")
        try output.prepareFolder(out)
        try WriteError.explaining(out) { try RandomModel.write(c, to: out, seed: seed, scale: 0.3) }
        try tok.writeTokenizerJSON(to: (out as NSString).appendingPathComponent("tokenizer.json"))
        print("wrote \(out): \(layers) layers × \(hidden), vocabulary \(c.vocabularySize), context \(context)")
    }
}
