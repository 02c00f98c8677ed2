import DSFormats

/// Builds small vocabulary-only GGUF files for tests.
enum DSFormatsWriterShim {
    static func writer(model: String, pre: String) -> GGUFWriter {
        var w = GGUFWriter()
        w.metadata = [
            ("tokenizer.ggml.model", .string(model)), ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .array(.string, [.string("a"), .string("b")])),
            ("tokenizer.ggml.merges", .array(.string, [.string("a b")])),
        ]
        return w
    }
}
