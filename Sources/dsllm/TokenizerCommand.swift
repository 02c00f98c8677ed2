import ArgumentParser
import DSTokenizer
import Foundation

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Inspect, convert, train tokenizers; render the chat template.",
        subcommands: [TrainTokenizer.self, ConvertTokenizer.self, TokenizerInfo.self, ChatTemplateCommand.self,
                      BenchTokenizer.self])
}

struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a byte-level BPE tokenizer with the DeepSeek pre-tokenizer (merges match HF BpeTrainer).")

    @Option(name: .long, parsing: .upToNextOption, help: "Training text files (UTF-8).") var input: [String]
    @Option(help: "Total vocabulary size, special tokens included.") var vocabSize: Int
    @Option(help: "Output tokenizer.json (tokenizer_config.json is written beside it).") var out: String
    @OptionGroup var output: OverwriteOption
    @Option(help: "Minimum pair frequency for a merge.") var minFrequency = 0
    @Option(help: "Comma-separated special tokens appended after the BPE vocabulary (first = BOS, second = EOS).")
    var specialTokens = "<｜begin▁of▁sentence｜>,<｜end▁of▁sentence｜>"
    @Option(help: "Pre-tokenizer (how text is split before BPE).") var preTokenizer: PreTokenizerKind = .deepseekLLM
    @Option(help: "Worker threads for word counting (default: all cores).") var threads: Int?
    @Flag(help: "Hide progress bars.") var quiet = false

    func run() throws {
        try output.checkFile(out)
        let kind = preTokenizer
        let specials = specialTokens.split(separator: ",").map(String.init)
        guard vocabSize >= 256 + specials.count else {
            throw CLIError("--vocab-size must be at least \(256 + specials.count) (256 bytes + special tokens)")
        }
        var options = BPETrainer.Options(vocabularySize: vocabSize)
        options.minFrequency = minFrequency
        options.specialTokens = specials
        options.preTokenizer = kind
        options.threads = threads ?? defaultThreadCount()
        let trainer = BPETrainer(options: options)
        let start = Date()
        for file in input {
            let bytes = try readInput(file: file)
            let bar = ProgressBar(label: "count \((file as NSString).lastPathComponent)", enabled: quiet ? false : nil)
            do {
                try bytes.withUnsafeBufferPointer { (buf) throws(TokenizerError) in
                    try trainer.countWords(in: buf) { bar.update($0, $1) }
                }
            } catch {
                throw CLIError("\(file): \(error.description)")
            }
        }
        let counted = Date()
        let bar = ProgressBar(label: "merges", enabled: quiet ? false : nil)
        let result = trainer.train { bar.update($0, $1, unit: "tokens", scale: 1) }
        let tok = try result.makeTokenizer(preTokenizer: kind, source: out)
        try tok.writeTokenizerJSON(to: out)
        let end = Date()
        FileHandle.standardError.write(Data(String(
            format: "trained %d tokens (%d merges) from %d distinct words in %.2fs (counting %.2fs); wrote %@\n",
            tok.vocabularySize, result.merges.count, trainer.distinctWords, end.timeIntervalSince(start),
            counted.timeIntervalSince(start), out).utf8))
    }
}

struct ConvertTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write any supported tokenizer (e.g. a GGUF vocabulary) as an HF tokenizer.json.")

    @OptionGroup var tokenizerOption: TokenizerOption
    @Option(help: "Output tokenizer.json path.") var out: String
    @OptionGroup var output: OverwriteOption

    func run() throws {
        try output.checkFile(out)
        let tok = try tokenizerOption.load()
        try tok.writeTokenizerJSON(to: out)
        print("wrote \(out) (\(tok.vocabularySize) tokens, \(tok.mergeCount) merges, pre-tokenizer \(tok.preTokenizer.rawValue))")
    }
}

struct TokenizerInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Summarise a tokenizer.")

    @OptionGroup var tokenizerOption: TokenizerOption

    func run() throws {
        let start = Date()
        let tok = try tokenizerOption.load()
        let ms = Date().timeIntervalSince(start) * 1000
        var counts: [TokenType: Int] = [:]
        for i in 0..<tok.vocabularySize { counts[tok.tokenType(TokenID(i)), default: 0] += 1 }
        let typeCounts = Dictionary(uniqueKeysWithValues: counts.map { ("\($0.key)", $0.value) })
        print("source:         \(tok.source)")
        print("vocabulary:     \(tok.vocabularySize) ids, \(tok.mergeCount) merges (loaded in \(String(format: "%.1f", ms)) ms)")
        print("token types:    \(typeCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        print("pre-tokenizer:  \(tok.preTokenizer.rawValue)")
        func name(_ id: TokenID?) -> String { id.map { "\($0) \(tok.tokenText($0))" } ?? "none" }
        print("bos / eos / pad: \(name(tok.bosID)) / \(name(tok.eosID)) / \(name(tok.padID))")
    }
}

struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render the DeepSeek chat template for a conversation read as JSON from stdin.",
        discussion: "Input: [{\"role\": \"user\", \"content\": \"Hi\"}, ...] or {\"messages\": [...]}.")

    @OptionGroup var tokenizerOption: TokenizerOption
    @Flag(help: "End with \"Assistant:\" so a model continues with the reply.") var generationPrompt = false
    @Flag(help: "Print token ids instead of text.") var ids = false

    func run() throws {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        let messages: [ChatMessage]
        do {
            if let list = try? JSONDecoder().decode([ChatMessage].self, from: data) {
                messages = list
            } else {
                struct Wrapper: Decodable { var messages: [ChatMessage] }
                messages = try JSONDecoder().decode(Wrapper.self, from: data).messages
            }
        } catch {
            throw CLIError("<stdin>: expected a JSON list of {\"role\": system|user|assistant, \"content\": ...}: \(error)")
        }
        let tok = try tokenizerOption.load()
        let text = tok.deepseekChatTemplate.render(messages, addGenerationPrompt: generationPrompt)
        if ids {
            print(tok.encode(text, addBOS: false, parseSpecial: true).map(String.init).joined(separator: " "))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

struct BenchTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure encode throughput on a file: median MB/s over runs, excluding load and output.")

    @OptionGroup var tokenizerOption: TokenizerOption
    @Option(help: "UTF-8 text file to encode.") var file: String
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Timed runs after one warm-up run.") var runs = 5
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let t0 = Date()
        let tok = try tokenizerOption.load()
        let loadMs = Date().timeIntervalSince(t0) * 1000
        let n = threads ?? defaultThreadCount()
        let runs = max(1, self.runs)
        var seconds: [Double] = []
        var tokens = 0
        let size: Int = try withInput(file: file) { input in
            for r in 0...runs {
                var count = 0
                let start = DispatchTime.now().uptimeNanoseconds
                do {
                    try tok.encodeParallel(bytes: input, threads: n) { count += $0.count }
                } catch {
                    throw CLIError("\(file): \(error)")
                }
                let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if r > 0 { seconds.append(s) }  // run 0 warms caches and page tables
                tokens = count
            }
            return input.count
        }
        seconds.sort()
        let median = seconds[seconds.count / 2]
        let mbps = Double(size) / 1e6 / median
        if json {
            print("{\"bytes\": \(size), \"tokens\": \(tokens), \"threads\": \(n), \"runs\": \(runs), \"median_seconds\": \(median), \"mb_per_s\": \(mbps), \"load_ms\": \(loadMs)}")
        } else {
            print(String(format: "%.1f MB, %d tokens, %d thread(s): median %.3f s over %d runs = %.1f MB/s (load %.1f ms)",
                         Double(size) / 1e6, tokens, n, median, runs, mbps, loadMs))
        }
    }
}
