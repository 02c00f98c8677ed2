import ArgumentParser
import DSModel
import DSServer
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "OpenAI-compatible HTTP server with continuous batching (completions, chat, streaming, metrics, a chat page).",
        discussion: """
            Endpoints: GET / (chat page), GET /health, GET /metrics, GET /v1/models, POST /v1/completions, \
            POST /v1/chat/completions, POST /tokenize, POST /detokenize, GET /tokenizer_info. \
            With --api-key, requests other than / and /health need 'Authorization: Bearer KEY'.
            """)

    @OptionGroup var modelOption: ModelOption
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Slots: requests decoded together in one batch.") var parallel = 4
    @Option(help: "Context length per slot in tokens (default: the model's, at most 4096).") var ctx: Int?
    @Option(help: "Require this key as 'Authorization: Bearer KEY'.") var apiKey: String?
    @Option(help: "The model id clients send and /v1/models lists.") var modelID = "dsllm"
    @Option(help: "Choices (a request's prompts × n) that may wait for a slot; beyond it 503, and a request larger than --parallel + --queue gets 400.")
    var queue = 64
    @Option(help: "Prompt tokens prefilled per scheduler step (bounds how long a new prompt delays running streams).")
    var prefillChunk = 128
    @Option(help: "max_tokens when a request gives none (chat).") var defaultMaxTokens = 256
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    /// Argument errors, before any model is loaded: a port the kernel would truncate (99999 bound 34463) must not
    /// be announced as if it were listening.
    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port).") }
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 256, got \(parallel).") }
        guard queue >= 0 else { throw ValidationError("--queue must be 0 or more, got \(queue).") }
    }

    func run() async throws {
        let weights = try modelOption.loadWeights()
        let tokenizer = try modelOption.requireTokenizer(for: "serve")
        var o = InferenceServer.Options()
        o.generation = weights.generation
        o.host = host
        o.port = port
        o.apiKey = apiKey
        o.modelID = modelID
        o.defaultMaxTokens = defaultMaxTokens
        o.scheduler.slots = parallel
        o.scheduler.context = min(ctx ?? min(weights.config.maxPositions, 4096), weights.config.maxPositions)
        o.scheduler.queueLimit = queue
        try checkInferenceMemory(weights.config, positions: o.scheduler.context, sequences: parallel, cache: .defaultFor(weights),
                                 hint: "lower --parallel or --ctx")
        o.scheduler.prefillChunk = max(1, prefillChunk)
        o.scheduler.threads = threads
        let server: InferenceServer
        do { server = try InferenceServer(weights: weights, tokenizer: tokenizer, options: o) } catch { throw CLIError(error.message) }
        let address = "http://\(host):", banner = "model '\(modelID)', \(parallel) slots × \(o.scheduler.context) tokens"
        try await server.run { boundPort in
            // Once the socket is bound, and flushed at once: stdout to a file or pipe is block-buffered, and a
            // supervisor or script waiting for this line would otherwise see nothing until the server exits.
            print("dsllm serve: \(address)\(boundPort) — \(banner)")
            fflush(nil)
        }
    }
}
