import DSFormats
import DSTokenizer
import Foundation

/// `dsllm data tokenize`: a document store into token shards for `dsllm train` (llm.c header, uint32 tokens,
/// EOS after every document), on all cores, with a deterministic train/validation split by a hash of the id.
public enum ShardTokenizer {
    public struct Options: Sendable {
        public var shardTokens = 100_000_000
        /// Fraction of documents (by id hash) that go to the validation shards.
        public var validationFraction = 0.005
        public var showProgress = true
        public init() {}
    }

    public static func isValidation(_ id: String, fraction: Double) -> Bool {
        var s = id
        let h = s.withUTF8 { TextHash.hash64(UnsafeRawBufferPointer($0), seed: 0x0bad_5eed) }
        return Double(h >> 11) * 0x1p-53 < fraction
    }

    /// Rolling shard files train-000000.bin, … / val-000000.bin, ….
    final class ShardSeries {
        let directory: String, prefix: String, limit: Int
        var writer: TokenShardWriter?
        var paths: [String] = []
        var tokens = 0

        init(directory: String, prefix: String, limit: Int) {
            self.directory = directory
            self.prefix = prefix
            self.limit = limit
        }

        func append(_ ids: [UInt32]) throws {
            if writer == nil {
                let path = (directory as NSString).appendingPathComponent(String(format: "%@-%06d.bin", prefix, paths.count))
                writer = try TokenShardWriter(path: path)
                paths.append(path)
            }
            try writer!.append(ids)
            tokens += ids.count
            if writer!.pendingCount >= limit { try close() }
        }

        func close() throws {
            try writer?.finish()
            writer = nil
        }
    }

    public static func run(input: String, output: String, tokenizer: Tokenizer, options o: Options = Options()) throws -> StageReport {
        let start = Date()
        var report = StageReport(stage: "tokenize")
        guard let eos = tokenizer.eosID else { throw FormatError(file: tokenizer.source, message: "the tokenizer has no end-of-sequence token") }
        let m = try DocumentStore.manifest(input)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let train = ShardSeries(directory: output, prefix: "train", limit: o.shardTokens)
        let val = ShardSeries(directory: output, prefix: "val", limit: o.shardTokens)
        var perDomain: [String: (documents: Int, bytes: Int, tokens: Int)] = [:]
        let progress = ProgressLine("tokenize", total: m.documents)
        progress.enabled = o.showProgress
        var done = 0
        try DocumentStore.forEachBatch(input, batchSize: 2048) { batch in
            // Text in the corpus is text: "<｜end▁of▁sentence｜>" written in a document is not the EOS token.
            let encoded = parallelMap(batch, chunk: 16) { tokenizer.encode($0.text, parseSpecial: false).map { UInt32($0) } + [UInt32(eos)] }
            for (d, ids) in zip(batch, encoded) {
                try (isValidation(d.id, fraction: o.validationFraction) ? val : train).append(ids)
                let s = perDomain[d.domain, default: (0, 0, 0)]
                perDomain[d.domain] = (s.documents + 1, s.bytes + d.text.utf8.count, s.tokens + ids.count)
            }
            done += batch.count
            progress.update(done)
        }
        try train.close()
        try val.close()
        progress.finish(done)
        report["documents"] = done
        report["train_tokens"] = train.tokens
        report["validation_tokens"] = val.tokens
        report["train_shards"] = train.paths.count
        report["validation_shards"] = val.paths.count
        report.notes.append("tokenizer: \(tokenizer.source); EOS \(eos) after every document; validation: ids whose hash falls below \(o.validationFraction)")
        report.tables.append(("Domains", ["domain", "documents", "bytes", "tokens", "bytes/token"], perDomain.keys.sorted().map { k in
            let s = perDomain[k]!
            return [k.isEmpty ? "(none)" : k, "\(s.documents)", "\(s.bytes)", "\(s.tokens)", String(format: "%.2f", Double(s.bytes) / Double(max(s.tokens, 1)))]
        }))
        report.seconds = Date().timeIntervalSince(start)
        try report.write(to: output)
        return report
    }
}
