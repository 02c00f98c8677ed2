import DSFormats
import DSGeneration
import DSModel
import DSTokenizer
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore

/// `dsllm serve`: the OpenAI-compatible HTTP API over one model. Handlers parse and validate on the event
/// loop, then hand jobs to the `Scheduler` thread and stream its events back.
public final class InferenceServer: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var apiKey: String?
        public var modelID = "dsllm"
        public var defaultMaxTokens = 256
        /// The model's generation_config.json: its temperature / top_p / top_k replace OpenAI's defaults for requests
        /// that give none.
        public var generation: GenerationConfig?
        public var scheduler = Scheduler.Options()
        public init() {}
    }

    public let options: Options
    public let scheduler: Scheduler
    public let tokenizer: Tokenizer
    public let metrics: ServerMetrics
    /// The chat page, with this server's model id in it.
    let chatPage: String

    public init(weights: ModelWeights, tokenizer: Tokenizer, options: Options) throws(APIError) {
        guard tokenizer.vocabularySize <= weights.config.vocabularySize else {
            throw APIError(500, "the tokenizer has \(tokenizer.vocabularySize) ids but the model only \(weights.config.vocabularySize)")
        }
        self.options = options
        self.tokenizer = tokenizer
        metrics = ServerMetrics()
        chatPage = ChatPage.html(modelID: options.modelID)
        scheduler = Scheduler(weights: weights, tokenizer: tokenizer, options: options.scheduler, metrics: metrics)
        scheduler.start()
    }

    /// Runs until the process is stopped (SIGINT/SIGTERM via ServiceLifecycle); `onListening` gets the port once the
    /// socket is bound.
    public func run(onListening: @escaping @Sendable (_ port: Int) -> Void = { _ in }) async throws {
        let app = makeApplication(port: options.port) { channel in onListening(channel.localAddress?.port ?? 0) }
        try await app.runService()
        scheduler.shutdown()
    }

    /// The HTTP application: the router, and per connection a `ClientDisconnectWatcher` (tests run it on port 0).
    public func makeApplication(port: Int, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        Application(router: makeRouter(), server: .http1(configuration: .init(additionalChannelHandlers: [ClientDisconnectWatcher()])),
                    configuration: .init(address: .hostname(options.host, port: port), serverName: "dsllm"),
                    onServerRunning: onServerRunning)
    }

    // MARK: - Routes

    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: ErrorAndAuthMiddleware(apiKey: options.apiKey, metrics: metrics))
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: self.chatPage)))
        }
        router.get("/health") { _, _ in self.json(.object([("status", .string("ok"))])) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
        router.get("/v1/models") { _, _ in self.json(self.modelsList()) }
        router.get("/v1/models/:id") { _, context in
            guard context.parameters.get("id") == self.options.modelID else { throw self.unknownModel(context.parameters.get("id") ?? "") }
            return self.json(self.modelObject())
        }
        router.post("/v1/completions") { request, context in try await self.complete(request, context, chat: false) }
        router.post("/v1/chat/completions") { request, context in try await self.complete(request, context, chat: true) }
        router.post("/tokenize") { request, _ in try await self.tokenize(request) }
        router.post("/detokenize") { request, _ in try await self.detokenize(request) }
        router.get("/tokenizer_info") { _, _ in self.json(self.tokenizerInfo()) }
        return router
    }

    func json(_ value: JSONOut, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.text)))
    }

    func unknownModel(_ name: String) -> APIError {
        APIError(404, "The model '\(name)' does not exist; this server serves '\(options.modelID)'.", param: "model", code: "model_not_found")
    }

    func modelObject() -> JSONOut {
        .object([("id", .string(options.modelID)), ("object", .string("model")), ("created", .int(0)), ("owned_by", .string("dsllm")),
                 ("max_model_len", .int(scheduler.contextLength))])
    }

    func modelsList() -> JSONOut { .object([("object", .string("list")), ("data", .array([modelObject()]))]) }

    func tokenizerInfo() -> JSONOut {
        func tok(_ id: TokenID?) -> JSONOut { id.map { .string(tokenizer.tokenText($0)) } ?? .null }
        return .object([("tokenizer_class", .string("LlamaTokenizerFast")), ("bos_token", tok(tokenizer.bosID)),
                        ("eos_token", tok(tokenizer.eosID)), ("pad_token", tok(tokenizer.padID)),
                        ("add_bos_token", .bool(tokenizer.addBOSByDefault)), ("vocab_size", .int(tokenizer.vocabularySize)),
                        ("model_max_length", .int(scheduler.contextLength)),
                        ("chat_template", .string(tokenizer.chatTemplate ?? DeepSeekChatTemplate.jinja))])
    }

    func body(_ request: Request) async throws -> [UInt8] {
        var r = request
        do {
            let buffer = try await r.collectBody(upTo: 16 << 20)
            return Array(buffer.readableBytesView)
        } catch {
            throw APIError(413, "The request body is larger than 16 MB.")
        }
    }

    func tokenize(_ request: Request) async throws -> Response {
        let b = try RequestBody(try await body(request))
        guard let text = try b.string("content") ?? b.string("prompt") else {
            throw APIError(400, "'content' (a string) is required.", param: "content", code: "missing_required_parameter")
        }
        let special = try b.bool("add_special") ?? false
        let ids = tokenizer.encode(text, addBOS: special && tokenizer.bosID != nil)
        var fields: [(String, JSONOut)] = [("tokens", .array(ids.map { .int(Int($0)) })), ("count", .int(ids.count)),
                                           ("max_model_len", .int(scheduler.contextLength))]
        if try b.bool("with_pieces") == true {
            fields.append(("pieces", .array(ids.map { .string(String(decoding: Array(tokenizer.tokenBytes($0)), as: UTF8.self)) })))
        }
        return json(.object(fields))
    }

    func detokenize(_ request: Request) async throws -> Response {
        let b = try RequestBody(try await body(request))
        guard let list = b.value("tokens")?.array else {
            throw APIError(400, "'tokens' (an array of token ids) is required.", param: "tokens", code: "missing_required_parameter")
        }
        var ids: [Int32] = []
        for v in list {
            guard let i = v.int, i >= 0, i < tokenizer.vocabularySize else {
                throw APIError(400, "'tokens' must hold ids in 0..<\(tokenizer.vocabularySize).", param: "tokens")
            }
            ids.append(Int32(i))
        }
        let text = String(decoding: (try? tokenizer.decodeBytes(ids)) ?? [], as: UTF8.self)
        return json(.object([("content", .string(text)), ("prompt", .string(text))]))
    }
}
