import ArgumentParser

struct DSLLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsllm",
        abstract: "DeepSeek LLM in Swift: tokenizer, model inference (more to come: serving, training).",
        version: "0.1.0",
        subcommands: [TokenizeCommand.self, DetokenizeCommand.self, TokenizerCommand.self, GenerateCommand.self,
                      ScoreCommand.self, QuantizeCommand.self, ConvertCommand.self, DemoCommand.self]
    )
}
