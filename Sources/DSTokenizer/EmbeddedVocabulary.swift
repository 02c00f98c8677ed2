import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the DeepSeek LLM vocabulary (llama.cpp's `ggml-vocab-deepseek-llm.gguf`, 3.9 MB) that ships with dsllm is.
///
/// The file is looked up beside the executable rather than compiled into it: a 3.9 MB array literal takes the Swift
/// compiler minutes and gigabytes, and an `.incbin` blob needs an assembler path that SwiftPM does not pass. The lookup
/// never touches `Bundle.module`, whose generated accessor calls fatalError (SIGILL) when the bundle is missing, as it
/// is for a copied or installed binary.
public enum EmbeddedVocabulary {
    public static let fileName = "ggml-vocab-deepseek-llm.gguf"
    /// SwiftPM's resource bundle for the DSTokenizer target (package `dsllm`), built beside the executable.
    static let bundleName = "dsllm_DSTokenizer.resources"

    /// The places searched, in order: $DSLLM_VOCAB; an installed prefix (`<prefix>/bin/dsllm` →
    /// `<prefix>/share/dsllm/`); SwiftPM's resource bundle beside the executable (a build folder); the source checkout
    /// the executable was built in (`.build/<triple>/release/dsllm` → `Sources/DSTokenizer/Resources/`). The prefix
    /// comes before the build folder so that an installed binary never depends on the checkout.
    public static func candidates() -> [String] {
        var list: [String] = []
        if let env = ProcessInfo.processInfo.environment["DSLLM_VOCAB"], !env.isEmpty { list.append(env) }
        guard let exeDir = executableDirectory() else { return list }
        list.append(exeDir.deletingLastPathComponent().appendingPathComponent("share/dsllm/\(fileName)").path)
        list.append(exeDir.appendingPathComponent("\(bundleName)/\(fileName)").path)
        var dir = exeDir
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            list.append(dir.appendingPathComponent("Sources/DSTokenizer/Resources/\(fileName)").path)
            if dir.path == "/" { break }
        }
        return list
    }

    /// The first candidate that exists, or an error listing every place searched.
    public static func path() throws(TokenizerError) -> String {
        let places = candidates()
        // $DSLLM_VOCAB, when set, is the only answer: a wrong value is an error, not a silent fallback.
        if let env = ProcessInfo.processInfo.environment["DSLLM_VOCAB"], !env.isEmpty {
            guard FileManager.default.isReadableFile(atPath: env) else {
                throw .invalidFile("DSLLM_VOCAB=\(env): no such readable file")
            }
            return env
        }
        if let found = places.first(where: { FileManager.default.isReadableFile(atPath: $0) }) { return found }
        throw .invalidFile("the embedded DeepSeek vocabulary \(fileName) was not found; looked in: "
            + places.joined(separator: ", ") + " (run `make install`, or set DSLLM_VOCAB, or give --tokenizer)")
    }

    /// The folder of the running executable, symlinks resolved (`/proc/self/exe` on Linux, argv[0] elsewhere), so that
    /// a `/usr/local/bin/dsllm` symlink into a build folder still finds that build's files.
    public static func executableDirectory() -> URL? {
        let candidates = ["/proc/self/exe", CommandLine.arguments.first ?? ""]
        for c in candidates where !c.isEmpty {
            guard let resolved = realpath(c, nil) else { continue }
            defer { free(resolved) }
            return URL(fileURLWithPath: String(cString: resolved)).deletingLastPathComponent()
        }
        return nil
    }
}

extension Tokenizer {
    /// The DeepSeek LLM vocabulary shipped with dsllm (see `EmbeddedVocabulary` for where it is found).
    public static func embeddedDeepSeek() throws(TokenizerError) -> Tokenizer {
        try load(gguf: try EmbeddedVocabulary.path())
    }
}
