import ArgumentParser
import DSFormats
import DSTokenizer
import Foundation

/// `--tokenizer PATH`, shared by every command that needs a vocabulary.
struct TokenizerOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A .gguf file, a tokenizer.json, or a model directory holding one (default: the embedded DeepSeek LLM vocabulary).",
        valueName: "path"))
    var tokenizer: String?

    func load() throws -> Tokenizer {
        if let tokenizer {
            do { return try Tokenizer.load(path: tokenizer) } catch { throw CLIError("--tokenizer \(error.description)") }
        }
        do { return try Tokenizer.embeddedDeepSeek() } catch { throw CLIError(error.description) }
    }
}

/// An error printed as one clear line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Calls `body` with the input bytes: a file stays memory-mapped (never copied), stdin is read whole.
func withInput<R>(file: String?, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
    if let file {
        let m: MappedFile
        do { m = try MappedFile(path: file) } catch { throw CLIError(error.description) }
        return try withExtendedLifetime(m) {
            try body(m.bytes.bindMemory(to: UInt8.self))
        }
    }
    let data = Array(FileHandle.standardInput.readDataToEndOfFile())
    return try data.withUnsafeBufferPointer { try body($0) }
}

/// Reads a whole file (mapped) or standard input.
func readInput(file: String?) throws -> [UInt8] {
    if let file {
        do {
            let m = try MappedFile(path: file)
            return Array(m.bytes)
        } catch {
            throw CLIError(error.description)
        }
    }
    return Array(FileHandle.standardInput.readDataToEndOfFile())
}

/// Writes to standard output in large blocks.
struct OutputBuffer {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Decimal digits of an integer, without going through String.
    @inline(__always)
    mutating func write(int value: Int32) {
        var v = UInt32(value.magnitude)
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        if v < 10 {
            buffer.append(UInt8(truncatingIfNeeded: v) &+ 48)
        } else {
            var digits: UInt64 = 0  // up to 8 digits packed, least significant first
            var n = 0
            while v > 0 && n < 8 {
                digits |= UInt64(v % 10 &+ 48) << (8 * UInt64(n))
                v /= 10
                n += 1
            }
            if v > 0 { buffer.append(contentsOf: String(v).utf8) }  // ids above 10^8: rare
            while n > 0 {
                n -= 1
                buffer.append(UInt8(truncatingIfNeeded: digits >> (8 * UInt64(n))))
            }
        }
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A one-line progress bar on standard error (only when it is a terminal or when forced).
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private let start = Date()

    init(label: String, enabled: Bool? = nil) {
        self.label = label
        self.enabled = enabled ?? (isatty(2) != 0)
    }

    func update(_ done: Int, _ total: Int, unit: String = "MB", scale: Double = 1e6) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let frac = total > 0 ? Double(done) / Double(total) : 1
        let width = 30
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let secs = max(now.timeIntervalSince(start), 1e-9)
        let rate = Double(done) / scale / secs
        let eta = done > 0 && done < total ? String(format: " ETA %.0f s", secs / Double(done) * Double(total - done)) : ""
        let line = scale == 1
            ? String(format: "\r%@ %@ %5.1f%% %d/%d %@ %.2f %@/s%@   ", label, bar, frac * 100, done, total, unit, rate, unit, eta)
            : String(format: "\r%@ %@ %5.1f%% %.1f/%.1f %@ %.1f %@/s%@   ", label, bar, frac * 100,
                     Double(done) / scale, Double(total) / scale, unit, rate, unit, eta)
        FileHandle.standardError.write(Data(line.utf8))
        if done >= total && finishOnTotal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Count-style updates ("12/200 questions") that leave the line open for `finish`.
    func update(_ done: Int, of total: Int, unit: String = "items") {
        finishOnTotal = false
        update(done, total, unit: unit, scale: 1)
    }

    /// Replaces the bar with a summary line (always printed, terminal or not).
    func finish(_ message: String) {
        FileHandle.standardError.write(Data(((enabled ? "\r\u{1B}[K" : "") + message + "\n").utf8))
    }
    private var finishOnTotal = true
}

func defaultThreadCount() -> Int { ProcessInfo.processInfo.activeProcessorCount }

/// JSON string literal (for hand-written JSON output).
func jsonString(_ s: String) -> String { jsonQuoted(s) }

/// `--overwrite` for commands that write a model, tokenizer or figures: an output that already exists is someone's
/// earlier work, refused (before any work) unless the user says to replace it.
struct OverwriteOption: ParsableArguments {
    @Flag(help: "Replace an output that already exists (a folder is emptied first).") var overwrite = false

    /// A file output: refused when something is there.
    func checkFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue { throw CLIError(WriteError(path: path, reason: "it is a directory").description) }
        guard !overwrite else { return }
        throw CLIError("\(path) already exists; give --overwrite to replace it, or another --out")
    }

    /// A folder output: refused when it holds files; emptied with --overwrite (RunFolder's rule). `dryRun` checks only.
    func prepareFolder(_ path: String, dryRun: Bool = false) throws {
        do { try RunFolder.prepare(path, intent: overwrite ? .overwrite : .fresh, resumable: false, dryRun: dryRun) } catch {
            throw CLIError(error.description)
        }
    }
}
