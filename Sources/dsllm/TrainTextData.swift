import DSData
import DSFormats
import DSTokenizer
import Foundation

/// `dsllm train --text FILES…`: the data pipeline of `dsllm data` in one step, inside the run folder —
/// ingest (text split at blank lines, JSONL by its "text" field; no quality filters: plain text is the user's own),
/// optionally a BPE tokenizer trained on those documents, then token shards with a validation split by document.
/// Everything lands under OUT/data and OUT/tokenizer, so `--resume` reuses it instead of preparing it again.
struct TextTrainingData {
    let out: String
    var storeDirectory: String { (out as NSString).appendingPathComponent("data/documents") }
    var filteredDirectory: String { (out as NSString).appendingPathComponent("data/filtered") }
    /// The documents the tokenizer and the shards are made from: the filtered store when filters ran.
    var documents: String { FileManager.default.fileExists(atPath: filteredDirectory) ? filteredDirectory : storeDirectory }
    var shardDirectory: String { (out as NSString).appendingPathComponent("data/shards") }
    var tokenizerPath: String { (out as NSString).appendingPathComponent("tokenizer/tokenizer.json") }

    /// Training and validation shards made by an earlier run into this folder (nil when there are none).
    func existingShards() -> (train: [String], validation: [String])? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: shardDirectory)) ?? []).sorted()
        let train = names.filter { $0.hasPrefix("train-") && $0.hasSuffix(".bin") }
        guard !train.isEmpty else { return nil }
        let full = { (n: String) in (shardDirectory as NSString).appendingPathComponent(n) }
        return (train.map(full), names.filter { $0.hasPrefix("val-") && $0.hasSuffix(".bin") }.map(full))
    }

    /// Ingests `files` into the document store.
    func ingest(_ files: [String], quiet: Bool) throws {
        var o = Ingest.Options()
        o.textSplit = .blankLine
        o.showProgress = !quiet
        let report: StageReport
        do { report = try Ingest.run(inputs: files, output: storeDirectory, options: o) } catch { throw CLIError("\(error)") }
        let documents = report["documents"]
        guard documents > 0 else { throw CLIError("--text: no text in \(files.joined(separator: ", "))") }
        print("text: \(documents) documents (blank-line separated blocks), \(report["bytes"]) bytes")
    }

    /// Quality filters (off unless asked for: plain text is the user's own), into data/filtered.
    func filter(_ kinds: [QualityFilterKind], quiet: Bool) throws {
        let report: StageReport
        do {
            report = try QualityFiltering.run(input: storeDirectory, output: filteredDirectory, filters: kinds, disabled: [], showProgress: !quiet)
        } catch { throw CLIError("\(error)") }
        print("filters (\(kinds.map(\.rawValue).joined(separator: ", "))): \(report["documents_out"]) documents kept")
        guard report["documents_out"] > 0 else { throw CLIError("--text-filters dropped every document") }
    }

    /// A byte-level BPE tokenizer of `vocabularySize` ids trained on the ingested documents (DeepSeek's
    /// pre-tokenizer, BOS/EOS as DeepSeek names them), written to OUT/tokenizer.
    func trainTokenizer(vocabularySize: Int, threads: Int) throws -> Tokenizer {
        var options = BPETrainer.Options(vocabularySize: vocabularySize)
        options.threads = threads
        guard vocabularySize >= 256 + options.specialTokens.count else {
            throw CLIError("--train-tokenizer must be at least \(256 + options.specialTokens.count) (256 bytes + BOS/EOS)")
        }
        let trainer = BPETrainer(options: options)
        do {
            try DocumentStore.forEachBatch(documents) { batch in
                for d in batch { try Self.countWords(d.text, trainer) }
            }
        } catch { throw CLIError("--train-tokenizer: \(error)") }
        let result = trainer.train()
        do {
            let tok = try result.makeTokenizer(preTokenizer: options.preTokenizer, source: tokenizerPath)
            try tok.writeTokenizerJSON(to: tokenizerPath)
            print("tokenizer: \(tok.vocabularySize) ids trained on the text → \(tokenizerPath)")
            return try Tokenizer.load(path: tokenizerPath)
        } catch { throw CLIError("--train-tokenizer: \(error)") }
    }

    // Out of line: inlined into the batch closure, this typed-throws closure crashes the Swift 6.3 optimizer.
    @inline(never)
    static func countWords(_ text: String, _ trainer: BPETrainer) throws(TokenizerError) {
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBufferPointer { (buf) throws(TokenizerError) in try trainer.countWords(in: buf) }
    }

    /// Token shards (uint32, llm.c layout) of the store; `validationFraction` of the documents (by id hash) held out.
    func tokenize(_ tokenizer: Tokenizer, validationFraction: Double, quiet: Bool) throws -> (train: [String], validation: [String]) {
        var o = ShardTokenizer.Options()
        o.validationFraction = validationFraction
        o.showProgress = !quiet
        do { _ = try ShardTokenizer.run(input: documents, output: shardDirectory, tokenizer: tokenizer, options: o) } catch {
            throw CLIError("\(error)")
        }
        guard let shards = existingShards() else { throw CLIError("--text: every document went to validation; lower --val-fraction") }
        return shards
    }
}

/// tokenizer.json + tokenizer_config.json of `tokenizer`, for checkpoints to be complete model folders
/// (`generate --prompt` and `chat` load them directly).
func tokenizerFiles(_ tokenizer: Tokenizer) -> [String: Data] {
    let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
    guard let json = try? JSONSerialization.data(withJSONObject: tokenizer.tokenizerJSON(), options: options),
          let config = try? JSONSerialization.data(withJSONObject: tokenizer.tokenizerConfigJSON(), options: options) else { return [:] }
    return ["tokenizer.json": json, "tokenizer_config.json": config]
}
