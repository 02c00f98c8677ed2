import ArgumentParser
import DSFormats
import DSModel
import DSTensor
import DSGeneration
import DSTokenizer
import DSTraining
import Foundation

/// What `make run` shows: the most complete job that exists today, on the embedded vocabulary.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the tokenizer (embedded DeepSeek LLM vocabulary), the model engine, sampling and pre-training at work on small models; no downloads.")

    @OptionGroup var tokenizerOption: TokenizerOption

    func run() throws {
        let t0 = Date()
        let tok = try tokenizerOption.load()
        let loadMs = Date().timeIntervalSince(t0) * 1000
        print("dsllm tokenizer — \(tok.source)")
        print(String(format: "loaded %d ids, %d merges, pre-tokenizer %@ in %.1f ms\n",
                     tok.vocabularySize, tok.mergeCount, tok.preTokenizer.rawValue, loadMs))
        let samples = [
            "Hello world! DeepSeek LLM splits digits: 2024 → 2 0 2 4.",
            "func add(a: Int, b: Int) -> Int { return a + b }",
            "深度求索（DeepSeek）致力于探索通用人工智能的本质。",
            "Привет, мир! Γειά σου κόσμε! مرحبا بالعالم 👋🏽",
            "Führer — a literal ü is DeepSeek's added token 100014.",
        ]
        for text in samples {
            let ids = tok.encode(text)
            let pieces = ids.map { id -> String in
                let bytes = Array(tok.tokenBytes(id))
                let s = String(decoding: bytes, as: UTF8.self)
                return s.contains("\u{FFFD}") ? "<\(bytes.map { String(format: "%02X", $0) }.joined())>" : s
            }
            let back = try tok.decode(ids)
            print("text:   \(text)")
            print("ids:    \(ids.map(String.init).joined(separator: " "))")
            print("pieces: \(pieces.map { "[\($0)]" }.joined())")
            print("round trip: \(back == text ? "exact" : "MISMATCH")  (\(text.utf8.count) bytes → \(ids.count) tokens)\n")
        }
        let chat = tok.deepseekChatTemplate.render(
            [ChatMessage(role: .user, content: "What is 2 + 2?"), ChatMessage(role: .assistant, content: "4"),
             ChatMessage(role: .user, content: "And 3 + 3?")], addGenerationPrompt: true)
        print("chat template (generation prompt on):")
        print(chat.replacingOccurrences(of: "\n", with: "\\n"))
        print("ids: \(tok.encode(chat, parseSpecial: true).map(String.init).joined(separator: " "))\n")

        // Streaming: text appears token by token, never half a character.
        var stream = StreamingDetokenizer(tokenizer: tok)
        var shown: [String] = []
        for id in tok.encode("naïve café 👋🏽 深度") { shown.append(try stream.append(id)) }
        shown.append(stream.flush())
        print("streaming detokenizer, one chunk per token: \(shown.map { "[\($0)]" }.joined())\n")

        // Training: a byte-level BPE with the same pre-tokenizer, merges identical to HF's BpeTrainer.
        let trainer = BPETrainer(options: .init(vocabularySize: 320))
        let trainText = Array(String(repeating: samples.joined(separator: "\n") + "\n", count: 20).utf8)
        try trainText.withUnsafeBufferPointer { (b) throws(TokenizerError) in try trainer.countWords(in: b) }
        let small = try trainer.train().makeTokenizer(preTokenizer: .deepseekLLM)
        let probe = "DeepSeek splits digits"
        print("trained a \(small.vocabularySize)-token tokenizer on the samples; \"\(probe)\" → " +
              small.encode(probe).map { "[\(String(decoding: Array(small.tokenBytes($0)), as: UTF8.self))]" }.joined() + "\n")

        try modelDemo(tok)
        try trainingDemo(tok, text: samples.joined(separator: "\n"))

        // Throughput on ~8 MB of mixed text, one thread and all threads.
        var corpus = ""
        let para = samples.joined(separator: "\n") + "\n"
        while corpus.utf8.count < 8_000_000 { corpus += para }
        let bytes = Array(corpus.utf8)
        let threads = defaultThreadCount()
        for n in Set([1, threads]).sorted() {
            let start = Date()
            let ids = try bytes.withUnsafeBufferPointer { (buf) throws(TokenizerError) in
                try tok.encodeParallel(bytes: buf, threads: n)
            }
            let secs = Date().timeIntervalSince(start)
            print(String(format: "encode %.1f MB on %d thread%@: %.1f MB/s (%d tokens)", Double(bytes.count) / 1e6, n,
                         n == 1 ? "" : "s", Double(bytes.count) / 1e6 / secs, ids.count))
        }
    }

    /// Pre-training end to end on the samples: a tiny model trained for 40 steps (loss falls as it memorises the
    /// text), checkpointed as an HF directory, loaded by the inference engine and asked to continue a prompt.
    func trainingDemo(_ tok: Tokenizer, text: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-demo-train-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ids = tok.encode(String(repeating: text + "\n", count: 8)).map { UInt32($0) }
        let shard = dir.appendingPathComponent("train.bin").path
        try TokenShard.write(ids, to: shard)
        let c = RandomModel.tinyConfig(vocabularySize: tok.vocabularySize, maxPositions: 256)
        let slab = ParameterSlab(config: c)
        slab.initialize(seed: 1)
        var o = Trainer.Options()
        o.microBatch = 4
        o.seq = 64
        o.steps = 40
        o.warmup = 5
        o.maxLR = 3e-3
        let trainer = Trainer(slab: slab, data: try SequentialBatches(stream: TokenStream(paths: [shard], vocabularySize: c.vocabularySize),
                                                                      seq: o.seq), options: o)
        print("pre-training a \(c.parameterCount / 1000) k-parameter model on the samples (\(ids.count) tokens, 40 AdamW steps):")
        var line = ""
        let t0 = Date()
        for _ in 0..<o.steps {
            let r = trainer.trainStep()
            if [1, 10, 20, 30, 40].contains(r.step) { line += String(format: "  step %d loss %.3f", r.step, r.loss) }
        }
        print(line + String(format: "  (%.1f s)", Date().timeIntervalSince(t0)))
        Checkpoint.saveInBackground(slab, optimizer: trainer.optimizer, state: .init(step: o.steps, seed: 1, sequencesPerStep: 4, seq: 64),
                                    runDirectory: dir.path, keep: 1).wait()
        let weights = try ModelWeights.load(path: Checkpoint.list(dir.path).last!)
        let prompt = tok.encode("深度求索")
        let model = Transformer(weights: weights)
        let out = TokenIterator(model: model, tokenizer: tok, prompt: prompt, parameters: .greedy(maxTokens: 16))
        var generated = ""
        for t in out { generated += t.text }
        generated += out.flush()
        print("  checkpoint → inference engine, greedy continuation of \"深度求索\": \"\(generated.replacingOccurrences(of: "\n", with: "\\n"))\"\n")
    }

    /// The engine on a small random DeepSeek-architecture model built here (no download, no dependence on
    /// models/default): HF safetensors → generate → GGUF Q8_0 → generate.
    func modelDemo(_ tok: Tokenizer) throws {
        let c = RandomModel.tinyConfig(vocabularySize: tok.vocabularySize, maxPositions: 256)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-demo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        try RandomModel.write(c, to: dir.path, seed: UInt64(Date().timeIntervalSince1970))
        let weights = try ModelWeights.load(path: dir.path)
        let prompt = tok.encodeChat([ChatMessage(role: .user, content: "Who are you?")])
        let model = Transformer(weights: weights)
        let t0 = Date()
        let ids = model.greedy(prompt: prompt, count: 16)
        let secs = Date().timeIntervalSince(t0)
        print("model engine on a random \(c.layerCount)-layer DeepSeek-architecture model (\(c.parameterCount / 1000) k parameters, bf16 safetensors):")
        print("  prompt \(prompt.count) tokens → greedy \(ids.count) tokens in \(String(format: "%.0f", secs * 1000)) ms: \(ids.map(String.init).joined(separator: " "))")
        let gguf = dir.appendingPathComponent("model-q8_0.gguf").path
        try ModelExport.writeGGUF(weights, type: .q8_0, to: gguf, extraMetadata: [])
        let quantized = Transformer(weights: try ModelWeights.load(path: gguf))
        let nllBF16 = model.meanNLL(prompt), nllQ8 = quantized.meanNLL(prompt)
        print(String(format: "  same prompt, mean NLL: bf16 safetensors %.4f, Q8_0 GGUF (q/k permuted, interleaved RoPE) %.4f\n", nllBF16, nllQ8))
    }
}
