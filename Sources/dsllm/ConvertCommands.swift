import ArgumentParser
import DSFormats
import DSModel
import DSTensor
import DSTokenizer
import Foundation

/// The tokenizer keys for the output GGUF: copied from a GGUF input, or built from tokenizer.json.
func tokenizerMetadata(input: String) -> [(String, GGUFWriter.Value)] {
    if let gguf = try? GGUFFile(path: input) {
        return gguf.metadata.filter { $0.key.hasPrefix("tokenizer.") }.map { ($0.key, GGUFWriter.Value($0.value)) }
    }
    guard let tok = try? Tokenizer.load(path: input) else { return [] }
    var m: [(String, GGUFWriter.Value)] = [
        ("tokenizer.ggml.model", .string("gpt2")),
        ("tokenizer.ggml.pre", .string(tok.preTokenizer == .deepseekLLM ? "deepseek-llm" : "gpt-2")),
        ("tokenizer.ggml.tokens", .array(.string, (0..<tok.vocabularySize).map { .string(tok.tokenText(TokenID($0))) })),
        ("tokenizer.ggml.token_type", .array(.int32, (0..<tok.vocabularySize).map { .int32(tok.tokenType(TokenID($0)).rawValue) })),
        ("tokenizer.ggml.merges", .array(.string, tok.mergeStrings().map { .string($0) })),
        ("tokenizer.ggml.add_bos_token", .bool(tok.addBOSByDefault)),
        ("tokenizer.ggml.add_eos_token", .bool(false)),
    ]
    if let b = tok.bosID { m.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(b)))) }
    if let e = tok.eosID { m.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(e)))) }
    if let p = tok.padID { m.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(p)))) }
    if tok.preTokenizer == .deepseekLLM { m.append(("tokenizer.chat_template", .string(DeepSeekChatTemplate.jinja))) }
    return m
}

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a model (GGUF or safetensors directory) as GGUF with its matrices in another type.",
        discussion: "Norm gains stay f32; a matrix whose rows are not whole blocks of the type is written as f16. "
            + "q/k rows are permuted for llama.cpp's RoPE layout. The output loads in llama.cpp.")

    @Option(name: .customLong("in"), help: "Input model: a .gguf file or a directory with config.json + safetensors or PyTorch .bin shards.")
    var input: String
    @Option(help: "Output .gguf file.") var out: String
    @OptionGroup var output: OverwriteOption
    @Option(help: "Weight type: a float or ggml quantized type, or llama.cpp's mixes q4_k_m, q5_k_m.")
    var type: QuantizationScheme

    func run() throws {
        try output.checkFile(out)
        let weights: ModelWeights
        do { weights = try ModelWeights.load(path: input, numerics: .reference) } catch { throw CLIError(error.description) }
        let start = Date()
        try ModelExport.writeGGUF(weights, scheme: type, to: out, extraMetadata: tokenizerMetadata(input: input))
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print(String(format: "wrote %@ (%@, %.1f MB) in %.1f s", out, type.name, Double(size) / 1e6, Date().timeIntervalSince(start)))
    }
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert between an HF safetensors directory and GGUF (direction from --out: *.gguf or a directory).")

    @Option(name: .customLong("in"), help: "Input model: a .gguf file or a directory with config.json + safetensors or PyTorch .bin shards.")
    var input: String
    @Option(help: "Output: a .gguf file, or a directory for config.json + model.safetensors.") var out: String
    @OptionGroup var output: OverwriteOption
    @Option(help: "Weight type (quantized inputs are dequantized; to write quantized types use quantize).")
    var type: FloatWeightType = .f16

    func run() throws {
        let t = type.scheme.base
        if out.hasSuffix(".gguf") { try output.checkFile(out) } else { try output.prepareFolder(out, dryRun: true) }
        let weights: ModelWeights
        do { weights = try ModelWeights.load(path: input, numerics: .reference) } catch { throw CLIError(error.description) }
        if !out.hasSuffix(".gguf") { try output.prepareFolder(out) }
        if out.hasSuffix(".gguf") {
            try ModelExport.writeGGUF(weights, type: t, to: out, extraMetadata: tokenizerMetadata(input: input))
        } else {
            try ModelExport.writeSafetensors(weights, type: t, directory: out)
            if let tok = try? Tokenizer.load(path: input) {
                try tok.writeTokenizerJSON(to: (out as NSString).appendingPathComponent("tokenizer.json"))
            }
            // The release's generation settings travel with the weights (ids and sampling defaults).
            let generation = (input as NSString).appendingPathComponent("generation_config.json")
            if let data = FileManager.default.contents(atPath: generation) {
                try writeAtomically(data, to: (out as NSString).appendingPathComponent("generation_config.json"))
            }
        }
        print("wrote \(out)")
    }
}
