import ArgumentParser
import DSFormats
import DSGeneration
import DSModel
import DSTensor
import DSTokenizer
import Foundation

/// `--model PATH`: a directory with config.json + safetensors (and optionally tokenizer.json), or a .gguf file.
struct ModelOption: ParsableArguments {
    @Option(help: ArgumentHelp("A model directory (config.json + *.safetensors or PyTorch .bin shards, as the deepseek-ai repos ship) or a .gguf file (default: the embedded default model, models/default).",
                               valueName: "path"))
    var model: String = defaultModelPath()

    @Option(help: ArgumentHelp("Numerics of the matrix products: llama.cpp (GGUF weights repacked at load, activations quantized as llama.cpp does; same integer sums) or reference (f32 activations). Safetensors models always run reference.",
                               valueName: "mode"))
    var numerics: InferenceNumerics = .llamaCpp

    func loadWeights() throws -> ModelWeights {
        if !FileManager.default.fileExists(atPath: model) {
            throw CLIError("\(model): no such model\(model == defaultModelPath() ? " (the default model ships in the repository as models/default; give --model PATH, or set DSLLM_DEFAULT_MODEL)" : "")")
        }
        do { return try ModelWeights.load(path: model, numerics: numerics) } catch { throw CLIError(error.description) }
    }

    @Option(help: ArgumentHelp("Tokenizer (.gguf, tokenizer.json or a directory) when the model ships none.", valueName: "path"))
    var tokenizer: String?

    /// --tokenizer; else the model's own (tokenizer.json beside the weights, or GGUF tokenizer metadata); else, for a
    /// model over DeepSeek's 102400-id vocabulary (e.g. a `dsllm train` checkpoint), the embedded DeepSeek tokenizer;
    /// else nil. A tokenizer that is there but cannot be read is an error naming its file and what is wrong with it
    /// (never "no tokenizer"): a user with a damaged tokenizer.json must learn that, not go looking for another one.
    func loadTokenizer() throws -> Tokenizer? {
        if let tokenizer {
            do { return try Tokenizer.load(path: tokenizer) } catch { throw CLIError("--tokenizer \(error.description)") }
        }
        if let own = try modelsOwnTokenizerPath() {
            do { return try Tokenizer.load(path: own) } catch { throw CLIError("the model's tokenizer is unreadable: \(error.description)") }
        }
        if let w = try? ModelWeights.load(path: model, numerics: .reference), w.config.vocabularySize == 102400 {
            do { return try Tokenizer.embeddedDeepSeek() } catch { throw CLIError(error.description) }
        }
        return nil
    }

    /// The tokenizer, or an error saying the model has none and how to give one.
    func requireTokenizer(for purpose: String) throws -> Tokenizer {
        guard let t = try loadTokenizer() else {
            throw CLIError("\(purpose) needs a tokenizer: \(model) has no tokenizer.json (or GGUF tokenizer metadata); give --tokenizer PATH")
        }
        return t
    }

    /// The file the model's own tokenizer is in, if it ships one: tokenizer.json in a model directory, or the
    /// model's .gguf when that has tokenizer metadata.
    private func modelsOwnTokenizerPath() throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            let json = (model as NSString).appendingPathComponent("tokenizer.json")
            return FileManager.default.fileExists(atPath: json) ? json : nil
        }
        guard let gguf = try? GGUFFile(path: model) else { return nil }
        return gguf["tokenizer.ggml.model"] != nil || gguf["tokenizer.ggml.tokens"] != nil ? model : nil
    }
}

/// The default model (`make default-model`, shipped in models/default): $DSLLM_DEFAULT_MODEL; else an installed
/// `<prefix>/share/dsllm/models/default` (the executable in `<prefix>/bin`); else models/default in the checkout the
/// executable was built in (a parent folder holding Package.swift: `.build/<triple>/release/dsllm`). The working
/// directory plays no part, so an installed binary behaves the same wherever it is run. When none exists, the
/// installed path is returned, so that the "no such model" error names where the model belongs.
func defaultModelPath() -> String {
    if let env = ProcessInfo.processInfo.environment["DSLLM_DEFAULT_MODEL"], !env.isEmpty { return env }
    func isModel(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) }
    guard let exeDir = EmbeddedVocabulary.executableDirectory() else { return "models/default" }
    let installed = exeDir.deletingLastPathComponent().appendingPathComponent("share/dsllm/models/default")
    if isModel(installed) { return installed.path }
    var dir = exeDir
    for _ in 0..<4 {
        dir = dir.deletingLastPathComponent()
        let checkout = dir.appendingPathComponent("models/default")
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path), isModel(checkout) {
            return checkout.path
        }
        if dir.path == "/" { break }
    }
    return installed.path
}

func parseIDList(_ text: String, option: String) throws -> [Int32] {
    var ids: [Int32] = []
    for part in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" }) {
        guard let v = Int32(part) else { throw CLIError("\(option): \"\(part)\" is not a token id") }
        ids.append(v)
    }
    return ids
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue a prompt with a model (greedy at --temperature 0, sampled otherwise).")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Prompt text (needs a tokenizer with the model).") var prompt: String?
    @Option(name: .customLong("prompt-ids"), help: "Prompt as token ids, e.g. \"1 2 3\".") var promptIDs: String?
    @Option(help: "Tokens to generate.") var maxTokens = 32
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "KV cache precision (default: f16 with llama.cpp numerics, f32 with reference numerics).") var kvCache: KVCache.Precision?
    @Option(help: "Prompt tokens per forward pass (default 512; a smaller chunk caps the activation buffers of a long prompt, ≈ 220 KB per token at 7B).") var prefillChunk: Int?
    @Option(help: "Also measure N copies of the prompt decoded together in one batch (throughput; prints aggregate tok/s).")
    var parallel: Int?
    @Flag(help: "Print {\"ids\", \"text\", \"prefill_tok_s\", \"decode_tok_s\", \"finish_reason\", \"seed\", \"isa\", \"numerics\", \"repacked_matrices\", \"repack_seconds\", \"huge_pages\"} (and \"grammar_masks_computed\", \"grammar_masks_reused\", \"grammar_mask_seconds\" with --json-schema or --grammar).") var json = false

    func run() throws {
        let weights = try modelOption.loadWeights()
        let tokenizer = try modelOption.loadTokenizer()
        var ids: [Int32]
        if let promptIDs {
            ids = try parseIDList(promptIDs, option: "--prompt-ids")
        } else if let prompt {
            guard let tokenizer else {
                throw CLIError("--prompt needs a tokenizer: \(modelOption.model) has none; give --tokenizer PATH or use --prompt-ids")
            }
            ids = tokenizer.encode(prompt, addBOS: tokenizer.addBOSByDefault)
        } else {
            throw CLIError("give --prompt or --prompt-ids")
        }
        guard !ids.isEmpty else { throw CLIError("the prompt is empty") }
        for id in ids where id < 0 || Int(id) >= weights.config.vocabularySize {
            throw CLIError("prompt id \(id) is outside the model's vocabulary (0..<\(weights.config.vocabularySize))")
        }
        guard ids.count < weights.config.maxPositions else {
            throw CLIError("the prompt has \(ids.count) tokens; the model's context is \(weights.config.maxPositions)")
        }
        var parameters = try sampling.parameters(maxTokens: maxTokens, defaults: weights.generation)
        parameters.grammar = try sampling.tokenGrammar(tokenizer: tokenizer)
        if parameters.grammar != nil, let parallel, parallel > 1 {
            throw CLIError("--parallel measures unconstrained greedy decoding; drop --json-schema / --grammar to use it")
        }
        let kvCache = self.kvCache ?? .defaultFor(weights)
        try checkInferenceMemory(weights.config, positions: min(weights.config.maxPositions, ids.count + maxTokens),
                                 sequences: max(1, parallel ?? 1), cache: kvCache, hint: "lower --max-tokens or --parallel")
        let model = Transformer(weights: weights, maxSequence: min(weights.config.maxPositions, ids.count + maxTokens),
                                threads: threads, cache: kvCache)
        if let prefillChunk { model.prefillChunk = try validPrefillChunk(prefillChunk) }
        let it = TokenIterator(model: model, tokenizer: tokenizer, prompt: ids, parameters: parameters)
        var text = ""
        for token in it {
            text += token.text
            if !json && tokenizer != nil { FileHandle.standardOutput.write(Data(token.text.utf8)) }
        }
        let tail = it.flush()
        text += tail
        if !json && tokenizer != nil { FileHandle.standardOutput.write(Data(tail.utf8)) }
        if let parallel, parallel > 1 { try measureBatch(weights, ids, parallel, kvCache) }
        if json {
            var fields = ["\"ids\": [\(it.generated.map(String.init).joined(separator: ", "))]"]
            if tokenizer != nil { fields.append("\"text\": \(jsonQuoted(text))") }
            fields.append("\"prefill_tok_s\": \(it.prefillRate)")
            fields.append("\"decode_tok_s\": \(it.decodeRate)")
            fields.append("\"finish_reason\": \"\(it.finishReason?.rawValue ?? "length")\"")
            fields.append("\"seed\": \(it.sampler.seed)")
            fields.append("\"isa\": \"\(KernelISA.current)\"")
            fields.append("\"numerics\": \"\(weights.numerics.rawValue)\"")
            fields.append("\"kv_cache\": \"\(kvCache.rawValue)\"")
            fields.append("\"repacked_matrices\": \(weights.repack.matrices)")
            fields.append("\"repack_seconds\": \(weights.repack.seconds)")
            fields.append("\"huge_pages\": \(weights.repack.matrices > 0 && weights.repack.hugePages)")
            if let g = parameters.grammar {
                // What the grammar cost: vocabulary walks (one per new grammar state; the rest come from its cache).
                let s = g.statistics
                fields.append("\"grammar_masks_computed\": \(s.masksComputed)")
                fields.append("\"grammar_masks_reused\": \(s.masksReused)")
                fields.append("\"grammar_mask_seconds\": \(s.computeSeconds)")
            }
            print("{\(fields.joined(separator: ", "))}")
        } else if tokenizer == nil {
            print(it.generated.map(String.init).joined(separator: " "))
        } else {
            print()
        }
    }

    /// `--parallel N`: N copies of the prompt decoded greedily together (decodeBatch), aggregate tok/s on stderr.
    func measureBatch(_ weights: ModelWeights, _ ids: [Int32], _ parallel: Int, _ precision: KVCache.Precision) throws {
        let batch = (0..<parallel).map { _ in
            Transformer(weights: weights, maxSequence: min(weights.config.maxPositions, ids.count + maxTokens), threads: threads,
                        cache: precision)
        }
        var next = batch.map { Int32(argmax($0.prefill(ids))) }
        let start = Date()
        var steps = 0
        while steps < maxTokens - 1 && batch[0].length < batch[0].maxSequence {
            next = Transformer.decodeBatch(batch, tokens: next).map { Int32(argmax($0)) }
            steps += 1
        }
        let rate = Double(steps * parallel) / max(Date().timeIntervalSince(start), 1e-9)
        FileHandle.standardError.write(Data(String(format: "%d sequences decoded together: %.2f tok/s in total (%.2f per sequence)\n",
                                                   parallel, rate, rate / Double(parallel)).utf8))
    }
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Mean negative log-likelihood and perplexity of a token sequence under a model.",
        discussion: "mean_nll is the mean over t = 1..n-1 of -log p(id_t | ids_<t), transformers' loss with labels = input_ids.")

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Token ids, e.g. \"1 2 3\".") var ids: String?
    @Option(help: "A UTF-8 text file, tokenized with the model's tokenizer.") var textFile: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Prompt tokens per forward pass (default 512; a smaller chunk caps the activation buffers of a long prompt, ≈ 220 KB per token at 7B).") var prefillChunk: Int?
    @Flag(help: "Print {\"tokens\", \"mean_nll\", \"ppl\"}.") var json = false
    @Option(help: "Also write every position's logits here: float32 little-endian, [tokens × vocabulary] (for comparing with other engines).")
    var logitsOut: String?

    func run() throws {
        let weights = try modelOption.loadWeights()
        var tokens: [Int32]
        if let ids {
            tokens = try parseIDList(ids, option: "--ids")
        } else if let textFile {
            let tokenizer = try modelOption.requireTokenizer(for: "--text-file")
            let bytes = try readInput(file: textFile)
            do { tokens = try tokenizer.encode(bytes: bytes, addBOS: tokenizer.addBOSByDefault) } catch {
                throw CLIError("\(textFile): \(error)")
            }
        } else {
            throw CLIError("give --ids or --text-file")
        }
        guard tokens.count >= 2 else { throw CLIError("need at least 2 tokens to score") }
        for id in tokens where id < 0 || Int(id) >= weights.config.vocabularySize {
            throw CLIError("id \(id) is outside the model's vocabulary (0..<\(weights.config.vocabularySize))")
        }
        guard tokens.count <= weights.config.maxPositions else {
            throw CLIError("\(tokens.count) tokens exceed the model's context of \(weights.config.maxPositions)")
        }
        let model = Transformer(weights: weights, maxSequence: tokens.count, threads: threads)
        if let prefillChunk { model.prefillChunk = try validPrefillChunk(prefillChunk) }
        if let logitsOut {
            var all = [Float]()
            all.reserveCapacity(tokens.count * weights.config.vocabularySize)
            model.prefill(tokens) { _, logits in all.append(contentsOf: logits) }
            try writeAtomically(all.withUnsafeBytes { Data($0) }, to: logitsOut)
            model.reset()
        }
        let nll = model.meanNLL(tokens)
        if json {
            print("{\"tokens\": \(tokens.count), \"mean_nll\": \(nll), \"ppl\": \(exp(nll))}")
        } else {
            print(String(format: "%d tokens, mean NLL %.6f, perplexity %.4f", tokens.count, nll, exp(nll)))
        }
    }
}

/// `--prefill-chunk`: at least one token per pass.
func validPrefillChunk(_ n: Int) throws -> Int {
    guard n >= 1 else { throw CLIError("--prefill-chunk must be at least 1, got \(n)") }
    return n
}
