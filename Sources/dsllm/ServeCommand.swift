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
    @Option(help: ArgumentHelp("RAM for the shared prefix cache in MB (0 turns it off; default: a quarter of the memory available at start, at most 8192).", valueName: "MB"))
    var cacheRam: Int?
    @Option(help: ArgumentHelp("Keep blocks evicted from the prefix cache in this directory (checksummed; survives restarts; never pruned by dsllm).", valueName: "dir"))
    var cacheDir: String?
    @Option(help: "Tokens per prefix-cache block (a prompt reuses whole blocks of another request's).") var cacheBlock = 64

    /// Argument errors, before any model is loaded: a port the kernel would truncate (99999 bound 34463) must not
    /// be announced as if it were listening.
    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port).") }
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 256, got \(parallel).") }
        guard queue >= 0 else { throw ValidationError("--queue must be 0 or more, got \(queue).") }
        guard (cacheRam ?? 0) >= 0 else { throw ValidationError("--cache-ram must be 0 or more MB, got \(cacheRam!).") }
        guard (1...4096).contains(cacheBlock) else { throw ValidationError("--cache-block must be between 1 and 4096, got \(cacheBlock).") }
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
        let ramMB = cacheRam ?? min(8192, ((MemoryEstimate.availableBytes() ?? (4 << 30)) / 4) >> 20)
        if ramMB > 0 {
            var p = PrefixCache.Options()
            p.ramBytes = ramMB << 20
            p.blockTokens = cacheBlock
            p.directory = cacheDir
            o.scheduler.prefixCache = p
        } else {
            if cacheDir != nil { throw CLIError("--cache-dir needs the prefix cache (--cache-ram above 0)") }
            o.scheduler.prefixCache = nil
        }
        let server: InferenceServer
        do { server = try InferenceServer(weights: weights, tokenizer: tokenizer, options: o) } catch { throw CLIError(error.message) }
        let address = "http://\(host):", banner = "model '\(modelID)', \(parallel) slots × \(o.scheduler.context) tokens"
            + (ramMB > 0 ? ", prefix cache \(ramMB) MB" + (cacheDir.map { " (+ \($0))" } ?? "") : ", no prefix cache")
        try await server.run { boundPort in
            // Once the socket is bound, and flushed at once: stdout to a file or pipe is block-buffered, and a
            // supervisor or script waiting for this line would otherwise see nothing until the server exits.
            print("dsllm serve: \(address)\(boundPort) — \(banner)")
            fflush(nil)
        }
    }
}
