import ArgumentParser

struct DSLLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsllm",
        abstract: "DeepSeek LLM in Swift: tokenizer (more to come: inference, training, serving).",
        version: "0.1.0",
        subcommands: [TokenizeCommand.self, DetokenizeCommand.self, TokenizerCommand.self, DemoCommand.self]
    )
}
