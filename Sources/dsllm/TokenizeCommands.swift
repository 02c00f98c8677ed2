import ArgumentParser
import DSTokenizer
import Foundation

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode UTF-8 text (stdin or --file, read as one text) to token ids.",
        discussion: "Prints the ids separated by single spaces on one line, or {\"ids\": [...], \"tokens\": [...]} with --json.")

    @OptionGroup var tokenizerOption: TokenizerOption
    @Flag(help: "Prepend the BOS token.") var bos = false
    @Option(help: "Read this file instead of standard input.") var file: String?
    @Option(help: "Worker threads (default: all cores). The ids never depend on it.") var threads: Int?
    @Flag(help: "Print JSON with ids and token strings.") var json = false
    @Flag(help: "Treat special-token text such as <｜end▁of▁sentence｜> as plain text.") var noParseSpecial = false
    @Flag(help: "Replace invalid UTF-8 bytes with U+FFFD instead of failing.") var replaceInvalid = false
    @Flag(help: "Show a progress bar on stderr.") var progress = false

    func run() throws {
        let tok = try tokenizerOption.load()
        let n = threads ?? defaultThreadCount()
        guard n >= 1 else { throw CLIError("--threads must be at least 1") }
        let bar = ProgressBar(label: "tokenize", enabled: progress ? true : nil)
        let policy: InvalidUTF8Policy = replaceInvalid ? .replace : .error
        // Property-wrapper getters instantiate generic metadata on every call: read flags once.
        let json = self.json, bos = self.bos, noParseSpecial = self.noParseSpecial, file = self.file
        var out = OutputBuffer()
        var ids: [TokenID] = []  // kept only for --json, which lists ids then tokens
        var count = 0
        let error: TokenizerError? = try withInput(file: file) { input -> TokenizerError? in
            var progressCallback: (@Sendable (Int, Int) -> Void)? = nil
            if input.count > 1 << 20 { progressCallback = { @Sendable d, t in bar.update(d, t) } }
            if json { out.write("{\"ids\": [") }
            func emit(_ id: TokenID) {
                if json {
                    if count > 0 { out.write(", ") }
                    ids.append(id)
                } else if count > 0 {
                    out.write(bytes: CollectionOfOne(UInt8(ascii: " ")))
                }
                out.write(int: id)
                count += 1
            }
            if bos, let b = tok.bosID { emit(b) }
            do {
                try tok.encodeParallel(bytes: input, threads: n, parseSpecial: !noParseSpecial, invalidUTF8: policy,
                                       progress: progressCallback) { chunk in
                    for id in chunk { emit(id) }
                }
                return nil
            } catch {
                return (error as? TokenizerError) ?? .invalidFile("\(error)")
            }
        }
        if let error { throw CLIError("\(file ?? "<stdin>"): \(error.description)") }
        if json {
            out.write("], \"tokens\": [")
            for (i, id) in ids.enumerated() {
                if i > 0 { out.write(", ") }
                out.write(jsonString(tok.tokenText(id)))
            }
            out.write("]}\n")
        } else {
            out.write("\n")
        }
        out.flush()
    }
}

struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Decode token ids (stdin or --file: separated by spaces, commas or newlines, or a JSON array) to text.")

    @OptionGroup var tokenizerOption: TokenizerOption
    @Option(help: "Read this file instead of standard input.") var file: String?
    @Flag(help: "Drop control tokens such as BOS/EOS.") var skipSpecial = false

    func run() throws {
        let tok = try tokenizerOption.load()
        let input = try readInput(file: file)
        let ids = try parseIDs(input, source: file ?? "<stdin>")
        let decoded = Result { () throws(TokenizerError) -> [UInt8] in
            try tok.decodeBytes(ids, skipSpecial: skipSpecial)
        }
        switch decoded {
        case .success(let bytes): FileHandle.standardOutput.write(Data(bytes))
        case .failure(let e): throw CLIError("\(file ?? "<stdin>"): \(e.description)")
        }
    }

    /// Accepts "1 2 3", "1,2,3", "[1, 2, 3]" and {"ids": [...]}: every run of digits is an id. Brackets and braces
    /// must pair up: "[1, 2" is more likely a cut-off file than a list of two ids.
    func parseIDs(_ bytes: [UInt8], source: String) throws -> [TokenID] {
        var ids: [TokenID] = []
        var i = 0
        var inKey = false
        var keyStart = 0
        var open: [(bracket: UInt8, offset: Int)] = []
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { inKey.toggle(); keyStart = i; i += 1; continue }
            if inKey { i += 1; continue }
            if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") { open.append((b, i)) }
            if b == UInt8(ascii: "]") || b == UInt8(ascii: "}") {
                let expected = b == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
                guard let last = open.popLast(), last.bracket == expected else {
                    throw CLIError("\(source) at byte \(i): '\(Character(Unicode.Scalar(b)))' closes nothing that was opened")
                }
            }
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-") {
                let start = i
                i += 1
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                let text = String(decoding: bytes[start..<i], as: UTF8.self)
                guard let v = Int32(text) else {
                    throw CLIError("\(source) at byte \(start): \"\(text)\" is not a token id")
                }
                ids.append(v)
                continue
            }
            if !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == UInt8(ascii: ",") || b == UInt8(ascii: "[")
                || b == UInt8(ascii: "]") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") || b == UInt8(ascii: ":")) {
                throw CLIError("\(source) at byte \(i): unexpected character '\(Character(Unicode.Scalar(b)))' in token id list")
            }
            i += 1
        }
        if inKey { throw CLIError("\(source) at byte \(keyStart): the string opened here is never closed") }
        if let unclosed = open.last {
            let closer = unclosed.bracket == UInt8(ascii: "[") ? "]" : "}"
            throw CLIError("\(source) at byte \(unclosed.offset): '\(Character(Unicode.Scalar(unclosed.bracket)))' is never closed (no matching '\(closer)'; is the input cut off?)")
        }
        return ids
    }
}
