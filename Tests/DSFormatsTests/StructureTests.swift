import Foundation
import Testing

/// Rules about the source tree itself, checked on every test run so they cannot drift: DSTensor stays the bottom of
/// the module graph (everything may depend on it, it on no other dsllm module), and source files stay small enough
/// to read.
@Suite struct SourceTreeStructureTests {
    /// The checkout: this file is Tests/DSFormatsTests/StructureTests.swift.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let maximumLines = 600
    /// Generated files, exempt from the length limit (they are data, rewritten by their generator, never edited).
    static let generatedFiles: Set<String> = [
        "Sources/DSData/WordTokenizerTables.swift",  // tools/codegen/gen_swift_tokenizer_tables.py: spaCy's tables
    ]

    /// Paths (relative to the checkout) of the Swift files under `folder`, sorted.
    static func swiftFiles(under folder: String) throws -> [String] {
        let base = repositoryRoot.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: base.path])
        }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { folder + "/" + $0 }.sorted()
    }

    static func lines(of path: String) throws -> [Substring] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }  // the final newline ends the last line
        return lines
    }

    /// The module an import line names (`import DSFormats`, `@testable import X`, `public import X`,
    /// `import struct X.Y`), or nil for any other line.
    static func importedModule(_ line: Substring) -> Substring? {
        var words = line.split(whereSeparator: \.isWhitespace)[...]
        while let w = words.first, w.hasPrefix("@") || ["public", "package", "internal", "fileprivate", "private"].contains(w) {
            words = words.dropFirst()
        }
        guard words.first == "import" else { return nil }
        words = words.dropFirst()
        if let kind = words.first, ["struct", "class", "enum", "protocol", "typealias", "func", "var", "let"].contains(kind) {
            words = words.dropFirst()
        }
        return words.first?.split(separator: ".").first
    }

    @Test func importLinesAreRecognised() {
        #expect(Self.importedModule("import DSFormats") == "DSFormats")
        #expect(Self.importedModule("@testable import DSModel") == "DSModel")
        #expect(Self.importedModule("public import DSTokenizer") == "DSTokenizer")
        #expect(Self.importedModule("import struct DSFormats.GGUFFile") == "DSFormats")
        #expect(Self.importedModule("import CKernels") == "CKernels")
        #expect(Self.importedModule("// import DSFormats") == nil)
        #expect(Self.importedModule("let important = 1") == nil)
    }

    @Test func dsTensorImportsNoOtherDsllmModule() throws {
        let files = try Self.swiftFiles(under: "Sources/DSTensor")
        #expect(files.count > 5, "Sources/DSTensor not found under \(Self.repositoryRoot.path)")
        for file in files {
            for (i, line) in try Self.lines(of: file).enumerated() {
                guard let module = Self.importedModule(line) else { continue }
                #expect(!module.hasPrefix("DS"),
                        "\(file):\(i + 1) imports \(module): DSTensor is the bottom of the module graph (its C shims only)")
            }
        }
    }

    @Test func handWrittenSourceFilesStayUnderTheLineLimit() throws {
        let files = try Self.swiftFiles(under: "Sources")
        #expect(files.count > 100, "Sources not found under \(Self.repositoryRoot.path)")
        for file in files where !Self.generatedFiles.contains(file) {
            let count = try Self.lines(of: file).count
            #expect(count <= Self.maximumLines, "\(file) has \(count) lines (at most \(Self.maximumLines): split it by facet)")
        }
        for file in Self.generatedFiles {
            #expect(files.contains(file), "allow-listed \(file) no longer exists: drop it from the list")
        }
    }
}
