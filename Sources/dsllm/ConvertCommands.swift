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
        ("tokenizer.ggml.pre", .string(tok.preTokenizer.llamaCppName)),
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

/// The files of a release that travel with its weights, copied byte for byte from a model folder: the tokenizer as
/// the release ships it (its tokenizer_config.json keeps the chat template and special-token flags) and the
/// generation settings (ids and sampling defaults). A GGUF input's tokenizer is written as tokenizer.json instead.
func copyCompanionFiles(from input: String, to out: String) throws {
    var isDir: ObjCBool = false
    let folder = FileManager.default.fileExists(atPath: input, isDirectory: &isDir) && isDir.boolValue
    let names = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"]
    var copied = Set<String>()
    if folder {
        for name in names {
            if let data = FileManager.default.contents(atPath: (input as NSString).appendingPathComponent(name)) {
                try writeAtomically(data, to: (out as NSString).appendingPathComponent(name))
                copied.insert(name)
            }
        }
    }
    if !copied.contains("tokenizer.json"), let tok = try? Tokenizer.load(path: input) {
        try tok.writeTokenizerJSON(to: (out as NSString).appendingPathComponent("tokenizer.json"))
    }
}

/// "5GB", "500MB", "2GiB", "1000000" → bytes (decimal units as transformers' max_shard_size, binary with "i").
func parseByteSize(_ text: String, option: String) throws -> Int {
    let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("TIB", 1 << 40),
                                  ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1)]
    let t = text.trimmingCharacters(in: .whitespaces).uppercased()
    for (suffix, scale) in units where t.hasSuffix(suffix) {
        if let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), v > 0, v * Double(scale) < 1e18 {
            return Int(v * Double(scale))
        }
        throw CLIError("\(option) \(text): expected a positive size such as 5GB, 500MB or 2GiB")
    }
    if let v = Int(t), v > 0 { return v }
    throw CLIError("\(option) \(text): expected a positive size such as 5GB, 500MB or 2GiB")
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert between an HF safetensors directory and GGUF (direction from --out: *.gguf or a directory).")

    @Option(name: .customLong("in"), help: "Input model: a .gguf file or a directory with config.json + safetensors or PyTorch .bin shards.")
    var input: String
    @Option(help: "Output: a .gguf file, or a directory for config.json + safetensors (sharded past --max-shard-size).")
    var out: String
    @OptionGroup var output: OverwriteOption
    @Option(help: "Weight type (quantized inputs are dequantized; to write quantized types use quantize).")
    var type: FloatWeightType = .f16
    @Option(help: ArgumentHelp("Largest safetensors file, as save_pretrained's max_shard_size: 5GB (its default), 10GB (the layout of the deepseek-ai 7B repos), 500MB, 2GiB.", valueName: "size"))
    var maxShardSize = "5GB"

    func run() throws {
        let t = type.scheme.base
        let maxShardBytes = try parseByteSize(maxShardSize, option: "--max-shard-size")
        if out.hasSuffix(".gguf") { try output.checkFile(out) } else { try output.prepareFolder(out, dryRun: true) }
        let weights: ModelWeights
        do { weights = try ModelWeights.load(path: input, numerics: .reference) } catch { throw CLIError(error.description) }
        if !out.hasSuffix(".gguf") { try output.prepareFolder(out) }
        if out.hasSuffix(".gguf") {
            try ModelExport.writeGGUF(weights, type: t, to: out, extraMetadata: tokenizerMetadata(input: input))
        } else {
            try ModelExport.writeSafetensors(weights, type: t, directory: out, maxShardBytes: maxShardBytes)
            try copyCompanionFiles(from: input, to: out)
        }
        print("wrote \(out)")
    }
}
