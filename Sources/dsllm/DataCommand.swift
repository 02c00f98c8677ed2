import ArgumentParser
import DSData
import DSFormats
import Foundation

/// `dsllm data …`: the pre-training data pipeline, one streaming stage per subcommand, each writing a document
/// store (or token shards) plus report.json / report.md.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Pre-training data: ingest, deduplicate, filter, remix, tokenize to shards, stats.",
        discussion: """
            A typical run:
              dsllm data ingest corpus/*.jsonl --out work/raw
              dsllm data dedup --near work/raw --out work/dedup
              dsllm data filter work/dedup --out work/filtered
              dsllm data remix work/filtered --weights books=0.4,python-docs=0.4,fortunes=0.1,jargon=0.1 --out work/mix
              dsllm data tokenize work/mix --out work/shards
            """,
        subcommands: [DataIngest.self, DataDedup.self, DataFilter.self, DataRemix.self, DataTokenize.self, DataStats.self])
}

struct StageOutput: ParsableArguments {
    @Option(help: "Output directory (must be new or empty, unless --overwrite).") var out: String
    @OptionGroup var replacing: OverwriteOption
    @Flag(help: "No progress line.") var quiet = false

    func finish(_ r: StageReport) {
        print(r.markdown)
        print("report: \((out as NSString).appendingPathComponent("report.md"))")
    }
}

/// Runs a stage into a new (or empty, or --overwrite) output folder: a stage never writes over earlier work.
func dataStage(_ body: () throws -> StageReport, output: StageOutput, inputs: [String]) throws {
    let real = { (p: String) in URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.path }
    if let same = inputs.first(where: { real($0) == real(output.out) }) { throw CLIError("--out \(output.out) is the input \(same)") }
    try output.replacing.prepareFolder(output.out)
    do { output.finish(try body()) } catch let e as FormatError { throw CLIError(e.description) }
}

struct DataIngest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Text and JSONL files (plain, .gz, .zst) into a document store.",
        discussion: "JSONL lines need a \"text\" string; \"id\", \"dump\", \"domain\", \"lang\" are optional. Other files are text.")
    @Argument(help: "Files or directories.") var inputs: [String]
    @Option(help: "Text files: one document per file, or per blank-line separated block (file | blank-line).") var split = "file"
    @Option(help: "Dump for documents without one.") var dump = ""
    @Option(help: "Domain for documents without one.") var domain = ""
    @Option(help: "Language for documents without one.") var lang = ""
    @Option(help: "Documents larger than this many bytes are dropped (and counted).") var maxDocumentBytes = 16 << 20
    @OptionGroup var output: StageOutput

    func run() throws {
        var o = Ingest.Options()
        guard let s = Ingest.TextSplit(rawValue: split) else { throw CLIError("--split must be file or blank-line") }
        o.textSplit = s
        (o.dump, o.domain, o.lang, o.maxDocumentBytes, o.showProgress) = (dump, domain, lang, maxDocumentBytes, !output.quiet)
        try dataStage({ try Ingest.run(inputs: inputs, output: output.out, options: o) }, output: output, inputs: inputs)
    }
}

struct DataDedup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Exact (normalized-text hash) or near (MinHash LSH, datatrove's defaults) deduplication across dumps.")
    @Argument(help: "Input document store.") var input: String
    @Flag(help: "Drop documents whose normalized text was seen before.") var exact = false
    @Flag(help: "MinHash LSH near-dedup (word 5-grams, 14 bands × 8 hashes, 64-bit): one document per cluster is kept.") var near = false
    @Option(help: "Word n-gram size of the shingles.") var ngrams = 5
    @Option(help: "LSH bands (buckets).") var bands = 14
    @Option(help: "Hashes per band.") var rows = 8
    @Option(help: "MinHash seed (datatrove's permutations for seed 1 are built in; other seeds draw their own).") var seed: UInt64 = 1
    @Option(help: "Confirm candidate pairs by their true shingle Jaccard ≥ this (0: off).") var verifyJaccard: Double = 0
    @OptionGroup var output: StageOutput

    func run() throws {
        guard exact != near else { throw CLIError("give exactly one of --exact and --near") }
        if exact {
            try dataStage({ try ExactDedup.run(input: input, output: output.out, showProgress: !output.quiet) }, output: output, inputs: [input])
        } else {
            var c = MinHashConfig()
            (c.ngrams, c.bands, c.rows, c.seed) = (ngrams, bands, rows, seed)
            guard ngrams > 0, bands > 0, rows > 0 else { throw CLIError("--ngrams, --bands and --rows must be positive") }
            try dataStage({ try NearDedup.run(input: input, output: output.out, config: c, verifyJaccard: verifyJaccard,
                                              showProgress: !output.quiet) }, output: output, inputs: [input])
        }
    }
}

struct DataFilter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Gopher quality, Gopher repetition and C4 line rules, each switchable; drop counts and samples per rule.")
    @Argument(help: "Input document store.") var input: String
    @Option(help: "Filters to run, in order (gopher-quality, gopher-repetition, c4).") var filters = "gopher-quality,gopher-repetition,c4"
    @Option(help: "Rules to switch off, by their report name (e.g. gopher_short_doc,c4_lorem_ipsum).") var disable = ""
    @OptionGroup var output: StageOutput

    func run() throws {
        var chain: [QualityFilterKind] = []
        for name in filters.split(separator: ",") {
            guard let k = QualityFilterKind(rawValue: String(name)) else { throw CLIError("--filters: unknown filter \(name)") }
            chain.append(k)
        }
        let off = Set(disable.split(separator: ",").map(String.init))
        try dataStage({ try QualityFiltering.run(input: input, output: output.out, filters: chain, disabled: off,
                                                 showProgress: !output.quiet) }, output: output, inputs: [input])
    }
}

struct DataRemix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remix",
        abstract: "Up/down-sample domains to target shares of the output bytes, deterministic with a seed.")
    @Argument(help: "Input document store.") var input: String
    @Option(help: "domain=weight,... (shares of the output; unlisted domains are dropped).") var weights: String
    @Option(help: "Output size in bytes (default: the listed domains' input size).") var totalBytes: Int?
    @Option(help: "Seed of the sampling.") var seed: UInt64 = 1
    @OptionGroup var output: StageOutput

    func run() throws {
        let w: [String: Double]
        do { w = try Remix.parseWeights(weights) } catch { throw CLIError(error.description) }
        try dataStage({ try Remix.run(input: input, output: output.out, weights: w, seed: seed, totalBytes: totalBytes,
                                      showProgress: !output.quiet) }, output: output, inputs: [input])
    }
}

struct DataTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "A document store into token shards for `dsllm train` (EOS after each document, train/val split).")
    @Argument(help: "Input document store.") var input: String
    @OptionGroup var tokenizerOption: TokenizerOption
    @Option(help: "Tokens per shard.") var shardTokens = 100_000_000
    @Option(help: "Fraction of documents for validation (by id hash).") var valFraction = 0.005
    @OptionGroup var output: StageOutput

    func run() throws {
        let tok = try tokenizerOption.load()
        var o = ShardTokenizer.Options()
        guard shardTokens > 0, valFraction >= 0, valFraction < 1 else { throw CLIError("--shard-tokens > 0 and 0 ≤ --val-fraction < 1") }
        (o.shardTokens, o.validationFraction, o.showProgress) = (shardTokens, valFraction, !output.quiet)
        try dataStage({ try ShardTokenizer.run(input: input, output: output.out, tokenizer: tok, options: o) }, output: output, inputs: [input])
    }
}

struct DataStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Documents, bytes (and tokens with --tokens) per domain and dump of document stores.")
    @Argument(help: "Document stores (e.g. every stage's output).") var stores: [String]
    @Flag(help: "Count tokens too (the tokenizer from --tokenizer, or the embedded DeepSeek one).") var tokens = false
    @OptionGroup var tokenizerOption: TokenizerOption

    func run() throws {
        let tok = tokens ? try tokenizerOption.load() : nil
        do { print(try CorpusStats.run(stores: stores, tokenizer: tok).markdown) } catch let e as FormatError { throw CLIError(e.description) }
    }
}
