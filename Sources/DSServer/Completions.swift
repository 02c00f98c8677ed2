import DSFormats
import DSGeneration
import DSTokenizer
import Foundation
import Hummingbird

extension InferenceServer {
    /// `POST /v1/completions` and `POST /v1/chat/completions`.
    func complete(_ request: Request, _ context: ServerRequestContext, chat: Bool) async throws -> Response {
        let bytes = try await body(request)
        let r = chat ? try RequestParser.chat(bytes, tokenizer: tokenizer, defaultMaxTokens: options.defaultMaxTokens, defaults: options.generation)
                     : try RequestParser.completion(bytes, tokenizer: tokenizer, defaultMaxTokens: options.defaultMaxTokens, defaults: options.generation)
        if let m = r.model, m != options.modelID, !m.isEmpty { throw unknownModel(m) }
        // One job per (prompt, n); choice index = prompt index × n + k, as OpenAI numbers them.
        var requests: [JobRequest] = [], slots: [(choice: Int, prompt: Int)] = []
        for (pi, prompt) in r.prompts.enumerated() {
            for k in 0..<r.n {
                var p = r.parameters
                if let s = p.seed { p.seed = s &+ UInt64(k) }
                var jr = JobRequest(prompt: prompt, parameters: p)
                jr.logprobs = r.logprobs
                jr.promptLogprobs = r.echo && r.logprobs != nil
                jr.cachePrompt = r.cachePrompt
                requests.append(jr)
                slots.append((pi * r.n + k, pi))
            }
        }
        let jobs: [Job]
        do {
            jobs = try scheduler.submit(requests)
        } catch {
            throw submitError(error, request: r, chat: chat)
        }
        let submitted = zip(slots, jobs).map { (choice: $0.choice, prompt: $0.prompt, job: $1) }
        let builder = ResponseBuilder(tokenizer: tokenizer, model: options.modelID, isChat: chat)
        // A client that leaves frees its slots at once (its jobs are cancelled), not after the last token.
        let watcher = await context.disconnectWatcher()
        watcher?.whenClientLeaves { for j in submitted { j.job.cancel() } }
        let endpoint = chat ? "/v1/chat/completions" : "/v1/completions"
        if !r.stream {
            defer { watcher?.clear() }
            let choices = try await withTaskCancellationHandler {
                try await collect(submitted, builder: builder)
            } onCancel: {
                for j in submitted { j.job.cancel() }
            }
            // Nobody to answer: count it as nginx's 499 "client closed request", like an abandoned stream.
            if watcher?.clientHasLeft == true { throw APIError(499, "The client closed the connection.") }
            let promptOf = Dictionary(uniqueKeysWithValues: submitted.map { ($0.choice, $0.prompt) })
            return json(builder.full(choices, request: r, promptOf: { promptOf[$0] ?? 0 }))
        }
        let metrics = self.metrics
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            defer { watcher?.clear() }
            do {
                try await self.stream(submitted, request: r, builder: builder, writer: &writer)
                try await writer.finish(nil)
            } catch {
                // The client went away (or the write failed): free the slots now.
                for j in submitted { j.job.cancel() }
                metrics.countRequest(endpoint: endpoint, status: 499)
                throw error
            }
        })
    }

    /// Why the scheduler refused a request, as the client should read it: 503 only when waiting could help.
    private func submitError(_ error: Scheduler.SubmitError, request r: CompletionRequest, chat: Bool) -> APIError {
        switch error {
        case .queueFull:
            return APIError(503, "The server is busy: all slots and the queue are full. Retry shortly.", type: "server_error",
                            code: "server_overloaded")
        case .neverFits(let jobs, let capacity):
            let asked = r.prompts.count > 1 ? "\(r.prompts.count) prompts × n = \(r.n) asks for \(jobs) choices"
                                            : "'n' = \(r.n) asks for \(jobs) choices"
            return APIError(400, "\(asked), but this server holds at most \(capacity) at once (\(scheduler.options.slots) slots "
                            + "+ a queue of \(scheduler.options.queueLimit)); lower 'n' or send fewer prompts per request.",
                            param: r.prompts.count > 1 && r.n == 1 ? "prompt" : "n")
        case .promptTooLong(let n, let ctx):
            return APIError(400, "This model's maximum context length is \(ctx) tokens; the prompt has \(n).",
                            param: chat ? "messages" : "prompt", code: "context_length_exceeded")
        case .emptyPrompt:
            return APIError(400, "The prompt is empty.", param: chat ? "messages" : "prompt")
        }
    }

    private func collect(_ jobs: [(choice: Int, prompt: Int, job: Job)], builder: ResponseBuilder) async throws -> [ResponseBuilder.Choice] {
        var choices: [ResponseBuilder.Choice] = []
        for (choice, _, job) in jobs {
            var c = ResponseBuilder.Choice(index: choice)
            for await e in job.events {
                switch e {
                case .prompt(let lps): c.promptLogprobs += lps
                case .token(_, let text, let lp):
                    c.text += text
                    if let lp { c.logprobs.append(lp) }
                case .finished(let reason, let tail, let p, let n):
                    c.text += tail
                    c.finishReason = reason
                    c.promptTokens = p
                    c.completionTokens = n
                }
            }
            if c.finishReason == nil { throw APIError(500, "the scheduler stopped", type: "server_error") }
            choices.append(c)
        }
        return choices
    }

    /// SSE: role chunk (chat), content chunks, a final chunk with finish_reason, usage if asked, [DONE].
    private func stream(_ jobs: [(choice: Int, prompt: Int, job: Job)], request r: CompletionRequest, builder: ResponseBuilder,
                        writer: inout any ResponseBodyWriter) async throws {
        func send(_ v: JSONOut) async throws { try await writer.write(ByteBuffer(string: "data: \(v.text)\n\n")) }
        let (merged, sink) = AsyncStream.makeStream(of: (Int, JobEvent).self)
        let forwarders = Task {
            await withTaskGroup(of: Void.self) { group in
                for (choice, _, job) in jobs {
                    group.addTask { for await e in job.events { sink.yield((choice, e)) } }
                }
            }
            sink.finish()
        }
        defer { forwarders.cancel() }
        var promptTokens = 0, completionTokens = 0
        var offsets = [Int: Int]()
        let promptOf = Dictionary(uniqueKeysWithValues: jobs.map { ($0.choice, $0.prompt) })
        for (choice, _, _) in jobs {
            if r.isChat { try await send(builder.chunk(index: choice, text: "", role: true)) }
            if r.echo, let p = promptOf[choice] { try await send(builder.chunk(index: choice, text: r.promptTexts[p])) }
        }
        for await (choice, e) in merged {
            switch e {
            case .prompt: break  // prompt logprobs are only reported in non-streamed echo responses
            case .token(_, let text, let lp):
                var lpJSON: JSONOut = .null
                if let lp, let top = r.logprobs {
                    if r.isChat {
                        lpJSON = builder.chatLogprobs([lp], top: top)
                    } else {
                        var c = ResponseBuilder.Choice(index: choice)
                        c.logprobs = [lp]
                        let o = builder.completionLogprobs(c, prompt: nil, top: top)
                        lpJSON = Self.shiftOffsets(o, by: offsets[choice, default: 0])
                    }
                }
                offsets[choice, default: 0] += text.unicodeScalars.count
                if !text.isEmpty || lpJSON.isPresent { try await send(builder.chunk(index: choice, text: text, logprobs: lpJSON)) }
            case .finished(let reason, let tail, let p, let n):
                promptTokens += p
                completionTokens += n
                try await send(builder.chunk(index: choice, text: r.isChat && tail.isEmpty ? nil : tail, finish: reason))
            }
        }
        if r.includeUsage { try await send(builder.usageChunk(prompt: promptTokens, completion: completionTokens)) }
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
    }

    static func shiftOffsets(_ o: JSONOut, by delta: Int) -> JSONOut {
        guard case .object(var fields) = o, let i = fields.firstIndex(where: { $0.0 == "text_offset" }),
              case .array(let a) = fields[i].1 else { return o }
        fields[i].1 = .array(a.map { if case .int(let v) = $0 { return .int(v + delta) }; return $0 })
        return .object(fields)
    }
}

extension JSONOut {
    var isPresent: Bool { if case .null = self { return false }; return true }
}

/// Turns thrown errors into OpenAI's error JSON, checks the API key, and counts requests by status.
struct ErrorAndAuthMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let apiKey: String?
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let endpoint = ServerMetrics.endpointLabel(path)
        do {
            if let apiKey, path != "/" && path != "/health" {
                let auth = request.headers[.authorization] ?? ""
                guard auth == "Bearer \(apiKey)" else {
                    throw APIError(401, "Incorrect API key provided.", code: "invalid_api_key")
                }
            }
            let response = try await next(request, context)
            metrics.countRequest(endpoint: endpoint, status: Int(response.status.code))
            return response
        } catch let e as APIError {
            metrics.countRequest(endpoint: endpoint, status: e.status)
            return Self.errorResponse(e)
        } catch let e as HTTPError {
            metrics.countRequest(endpoint: endpoint, status: Int(e.status.code))
            let type = e.status.code == 404 ? "not_found_error" : "invalid_request_error"
            return Self.errorResponse(APIError(Int(e.status.code), e.body ?? e.status.reasonPhrase, type: type))
        }
    }

    static func errorResponse(_ e: APIError) -> Response {
        Response(status: .init(code: e.status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: e.json.text)))
    }
}
