import DSData
import DSFormats
import DSTokenizer
import Foundation

/// A tokenized training sequence: ids, and which ids are trained on (`mask[i]`: id i is a label).
public struct MaskedSequence: Sendable, Equatable {
    public var ids: [Int32]
    public var mask: [Bool]
    public init(ids: [Int32], mask: [Bool]) {
        precondition(ids.count == mask.count)
        self.ids = ids
        self.mask = mask
    }
    public var labelCount: Int { mask.dropFirst().filter { $0 }.count }
}

/// A preference pair as TRL's DPOTrainer tokenizes it: prompt ids, then chosen / rejected completion ids.
public struct PreferencePair: Sendable, Equatable {
    public var prompt: [Int32], chosen: [Int32], rejected: [Int32]
    public init(prompt: [Int32], chosen: [Int32], rejected: [Int32]) {
        (self.prompt, self.chosen, self.rejected) = (prompt, chosen, rejected)
    }
    public var chosenSequence: MaskedSequence {
        MaskedSequence(ids: prompt + chosen, mask: Array(repeating: false, count: prompt.count) + Array(repeating: true, count: chosen.count))
    }
    public var rejectedSequence: MaskedSequence {
        MaskedSequence(ids: prompt + rejected, mask: Array(repeating: false, count: prompt.count) + Array(repeating: true, count: rejected.count))
    }
}

/// What reading a dataset found: kept examples and, per reason, how many lines were skipped (with line numbers).
public struct DatasetReport: Sendable, CustomStringConvertible {
    public var path: String
    public var lines = 0, kept = 0, truncated = 0
    public var skipped: [String: [Int]] = [:]
    public init(path: String) { self.path = path }
    mutating func skip(_ reason: String, line: Int) { skipped[reason, default: []].append(line) }
    public var skippedCount: Int { skipped.values.reduce(0) { $0 + $1.count } }
    public var description: String {
        var s = "\(path): \(lines) lines, \(kept) examples kept"
        if truncated > 0 { s += ", \(truncated) truncated" }
        for (reason, lines) in skipped.sorted(by: { $0.key < $1.key }) {
            s += "\n  skipped \(lines.count) (\(reason)): line\(lines.count == 1 ? "" : "s") \(lines.prefix(8).map(String.init).joined(separator: ", "))\(lines.count > 8 ? ", …" : "")"
        }
        return s
    }
}

/// JSONL readers for chat (`{"messages": [{"role", "content"}, …]}`) and preference data (`{"prompt" | "messages",
/// "chosen", "rejected"}`, each a string or a list of messages). Plain, gzip or zstd. Bad lines are counted with
/// their numbers, never fatal; an unreadable file is an error naming it.
public enum AlignmentData {
    static func messages(_ v: JSONValue?) -> [ChatMessage]?? {
        guard let a = v?.array else { return nil }
        var out: [ChatMessage] = []
        for m in a {
            guard let r = m["role"]?.string, let role = ChatMessage.Role(rawValue: r), let content = m["content"]?.string else { return .some(nil) }
            out.append(ChatMessage(role: role, content: content))
        }
        return .some(out)
    }

    static func forEachObject(_ path: String, _ report: inout DatasetReport, _ body: (JSONValue, Int, inout DatasetReport) -> Void) throws {
        var r = report
        do {
            try LineReader(path: path).forEachLine { line in
                if line.oversizedBytes > 0 { r.lines += 1; r.skip("line over 64 MiB", line: line.number); return }
                let trimmed = line.bytes.filter { $0 != 13 && $0 != 32 && $0 != 9 }
                if trimmed.isEmpty { return }
                r.lines += 1
                guard let v = try? JSONValue.parse(Array(line.bytes)), v.object != nil else { r.skip("malformed JSON", line: line.number); return }
                body(v, line.number, &r)
            }
        } catch { throw FormatError(file: path, message: "\(error)") }
        report = r
    }

    /// SFT examples, truncated to `maxLength` tokens keeping the start (TRL's SFT truncation); an example left with
    /// no label inside the window is skipped.
    public static func readChat(_ path: String, encoder: ChatEncoder, maxLength: Int) throws -> ([MaskedSequence], DatasetReport) {
        var report = DatasetReport(path: path)
        var out: [MaskedSequence] = []
        try forEachObject(path, &report) { v, line, r in
            guard let msgs = messages(v["messages"]) else { r.skip("no \"messages\" list", line: line); return }
            guard let list = msgs else { r.skip("a message without a known role or string content", line: line); return }
            guard var seq = encoder.sft(list) else { r.skip("no assistant turn", line: line); return }
            if list.contains(where: { $0.role == .assistant && $0.content.isEmpty }) { r.skip("empty assistant reply", line: line); return }
            if seq.ids.count > maxLength {
                seq = MaskedSequence(ids: Array(seq.ids.prefix(maxLength)), mask: Array(seq.mask.prefix(maxLength)))
                guard seq.labelCount > 0 else { r.skip("no assistant token within --max-length", line: line); return }
                r.truncated += 1
            }
            r.kept += 1
            out.append(seq)
        }
        return (out, report)
    }

    /// DPO pairs. Over-long pairs: TRL's keep_start — prompt + completion cut at `maxLength`; a pair whose prompt
    /// alone fills `maxLength` is skipped (no completion token would remain).
    public static func readPreferences(_ path: String, encoder: ChatEncoder, maxLength: Int) throws -> ([PreferencePair], DatasetReport) {
        var report = DatasetReport(path: path)
        var out: [PreferencePair] = []
        try forEachObject(path, &report) { v, line, r in
            var pair: PreferencePair
            if let ps = v["prompt"]?.string, let cs = v["chosen"]?.string, let rs = v["rejected"]?.string {
                guard !cs.isEmpty, !rs.isEmpty else { r.skip("empty chosen or rejected", line: line); return }
                pair = encoder.preference(prompt: ps, chosen: cs, rejected: rs)
            } else {
                let prompt = messages(v["prompt"]) ?? messages(v["messages"])
                guard let promptList = prompt, let p = promptList, !p.isEmpty else {
                    r.skip("no prompt (a \"prompt\" or \"messages\" list, or all three fields as strings)", line: line); return
                }
                func completion(_ key: String) -> [ChatMessage]? {
                    if let s = v[key]?.string { return [ChatMessage(role: .assistant, content: s)] }
                    return messages(v[key]) ?? nil
                }
                guard let c = completion("chosen"), let rj = completion("rejected") else { r.skip("missing chosen or rejected", line: line); return }
                guard c.contains(where: { !$0.content.isEmpty }), rj.contains(where: { !$0.content.isEmpty }) else {
                    r.skip("empty chosen or rejected", line: line); return
                }
                pair = encoder.preference(prompt: p, chosen: c, rejected: rj)
            }
            guard pair.prompt.count < maxLength else { r.skip("prompt alone fills --max-length", line: line); return }
            if pair.prompt.count + max(pair.chosen.count, pair.rejected.count) > maxLength {
                let room = maxLength - pair.prompt.count
                pair.chosen = Array(pair.chosen.prefix(room))
                pair.rejected = Array(pair.rejected.prefix(room))
                r.truncated += 1
            }
            r.kept += 1
            out.append(pair)
        }
        return (out, report)
    }
}
