import ArgumentParser

@main
struct DSLLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsllm",
        abstract: "DeepSeek LLM in Swift: tokenizer, data pipeline, pre-training, SFT and DPO, scaling laws, evaluation, inference, chat and an OpenAI-compatible server.",
        version: "0.1.0",
        subcommands: [TokenizeCommand.self, DetokenizeCommand.self, TokenizerCommand.self, GenerateCommand.self,
                      ChatCommand.self, ServeCommand.self, TrainCommand.self, SFTCommand.self, DPOCommand.self, EvalCommand.self, PlanCommand.self, ScalingCommand.self, DataCommand.self, RandomModelCommand.self, ScoreCommand.self, QuantizeCommand.self, ConvertCommand.self, DemoCommand.self]
    )
}
