import ArgumentParser
import DSFormats
import DSGeneration
import DSModel
import DSServer
import DSTokenizer
import Dispatch
import Foundation

/// Interactive chat with the DeepSeek chat template. The KV cache carries over between turns (only the new
/// turn is prefilled); when the conversation no longer fits, the oldest turns are dropped (the system
/// prompt stays) and the user is told.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model in the terminal (DeepSeek chat template, streaming replies).",
        discussion: """
            Commands: /reset (new conversation), /save FILE (conversation as JSON), /load FILE (continue a saved \
            conversation), /exit. With --cache-dir, /save also writes the conversation's keys and values there, and \
            a conversation loaded later (--load or /load, in this or another session) restores them instead of \
            prefilling its history again. Ctrl-C stops the \
            current reply; Ctrl-D or /exit quits. When the conversation outgrows --ctx, the oldest turns are \
            dropped (the system prompt is kept) and a line says so. With standard input not a terminal (prompts \
            piped in, one a line) the output is a transcript: each prompt echoed as "User: …", each reply as \
            "Assistant: …". Runs of blank lines in a reply are shown as one, and a reply that is only line breaks \
            is cut off.
            """)

    @OptionGroup var modelOption: ModelOption
    @Option(help: "System prompt.") var system: String?
    @Option(help: "Most tokens per reply.") var maxTokens = 512
    @Option(help: "Context length in tokens (default: the model's, at most 4096).") var ctx: Int?
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Prompt tokens per forward pass (default 512).") var prefillChunk: Int?
    @Option(help: "Start from a conversation written by /save.") var load: String?
    @Option(help: "Directory for the conversation's keys and values: written at /save, read back when a saved conversation is loaded (the serve prefix cache's block files).")
    var cacheDir: String?

    func run() throws {
        let weights = try modelOption.loadWeights()
        let tokenizer = try modelOption.requireTokenizer(for: "chat")
        let context = min(ctx ?? min(weights.config.maxPositions, 4096), weights.config.maxPositions)
        guard context > 16 else { throw CLIError("--ctx \(context) is too small") }
        var parameters = try sampling.parameters(maxTokens: maxTokens, defaults: weights.generation)
        // --json-schema / --grammar: every reply is constrained (each reply starts the grammar afresh).
        parameters.grammar = try sampling.tokenGrammar(tokenizer: tokenizer)
        try checkInferenceMemory(weights.config, positions: context, cache: .defaultFor(weights), hint: "lower --ctx")
        let model = Transformer(weights: weights, maxSequence: context, threads: threads)
        if let prefillChunk { model.prefillChunk = try validPrefillChunk(prefillChunk) }
        var diskCache: PrefixCache?
        if let dir = cacheDir {
            var o = PrefixCache.Options()
            o.directory = dir
            o.ramBytes = 256 << 20  // blocks also stay in RAM for a /reset + /load in this session
            diskCache = PrefixCache(options: o, weights: weights, cache: model.cache)
        }
        let session = ChatSession(tokenizer: tokenizer, model: model, system: system, parameters: parameters, diskCache: diskCache)
        if let load {
            do { try session.load(from: load) } catch { throw CLIError("could not load \(load): \(error)") }
        }

        // Ctrl-C cancels the running reply instead of killing the process.
        signal(SIGINT, SIG_IGN)
        let interrupts = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupts.setEventHandler { session.interrupt() }
        interrupts.resume()

        // Piped prompts are not echoed by a terminal: echo them, so the output reads as a transcript.
        let interactive = isatty(0) != 0
        let isDefaultModel = modelOption.model == defaultModelPath()
        let parameterCount = String(format: "%.1f M parameters", Double(weights.config.parameterCount) / 1e6)
        let what = isDefaultModel
            ? "the default model (\(modelOption.model): a toy of \(parameterCount) trained by dsllm, not DeepSeek's weights)"
            : "\(modelOption.model) (\(parameterCount))"
        print("dsllm chat — \(what), context \(context) tokens."
              + (interactive ? " /reset, /save FILE, /load FILE, /exit; Ctrl-C stops a reply." : ""))
        if let load { print("[loaded \(session.messages.count) messages from \(load)]") }
        defer {
            if isDefaultModel {
                print("To chat with a real DeepSeek LLM: dsllm chat --model path/to/deepseek-llm-7b-chat (an HF directory) "
                      + "or --model FILE.gguf. About the default model: \(modelOption.model)/README.md")
            }
        }
        while true {
            if interactive {
                print("> ", terminator: "")
                fflush(nil)
            }
            guard let line = readLine() else { if interactive { print() }; break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/exit" || input == "/quit" { break }
            if input == "/reset" { session.reset(); print("[new conversation]"); continue }
            if input.hasPrefix("/save") {
                let path = input.dropFirst(5).trimmingCharacters(in: .whitespaces)
                guard !path.isEmpty else { print("[usage: /save FILE]"); continue }
                do { try session.save(to: path); print("[saved \(session.messages.count) messages to \(path)]") } catch {
                    print("[could not save: \(error)]")
                }
                continue
            }
            if input.hasPrefix("/load") {
                let path = input.dropFirst(5).trimmingCharacters(in: .whitespaces)
                guard !path.isEmpty else { print("[usage: /load FILE]"); continue }
                do { try session.load(from: path); print("[loaded \(session.messages.count) messages from \(path)]") } catch {
                    print("[could not load \(path): \(error)]")
                }
                continue
            }
            if input.hasPrefix("/") { print("[unknown command \(input); /reset, /save FILE, /load FILE, /exit]"); continue }
            if !interactive { print("User: \(input)") }
            print(interactive ? "" : "Assistant: ", terminator: "")
            // Through stdout's buffer like every other line (a pipe would otherwise get them out of order), flushed
            // per piece so the reply streams.
            var atLineStart = false
            session.reply(to: input) { piece in
                guard !piece.isEmpty else { return }
                print(piece, terminator: "")
                fflush(nil)
                atLineStart = piece.hasSuffix("\n")
            } notice: {
                print("\n[\($0)]")
                atLineStart = true
            }
            if !atLineStart { print() }
            if !interactive { print() }
        }
    }
}

/// The conversation state behind `dsllm chat`: messages, tokens in the KV cache, the running iterator.
final class ChatSession: @unchecked Sendable {
    let tokenizer: Tokenizer
    let model: Transformer
    let system: String?
    let parameters: GenerateParameters
    private(set) var messages: [ChatMessage] = []
    private var cached: [Int32] = []  // tokens whose keys/values are in the model's cache
    private let lock = NSLock()
    private var running: TokenIterator?
    /// --cache-dir: where /save writes the conversation's keys and values and a loaded conversation finds them.
    let diskCache: PrefixCache?

    init(tokenizer: Tokenizer, model: Transformer, system: String?, parameters: GenerateParameters, diskCache: PrefixCache? = nil) {
        self.tokenizer = tokenizer
        self.model = model
        self.system = system
        self.parameters = parameters
        self.diskCache = diskCache
        reset()
    }

    func reset() {
        messages = system.map { [ChatMessage(role: .system, content: $0)] } ?? []
        cached = []
        model.reset()
    }

    func interrupt() {
        lock.lock()
        running?.cancel()
        lock.unlock()
    }

    func save(to path: String) throws {
        let data = try JSONEncoder().encode(messages)
        try writeAtomically(data, to: path)
        diskCache?.persist(cached[...], from: model.cache)
    }

    /// Continues a conversation written by `save` (the system prompt is the file's). The next reply restores what
    /// the disk cache holds of it, and prefills the rest.
    func load(from path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        messages = try JSONDecoder().decode([ChatMessage].self, from: data)
        cached = []
        model.reset()
    }

    /// Line breaks in a row after which a reply is cut off: the model emits nothing else any more.
    static let newlineRunLimit = 4

    /// Streams a reply to `text` through `emit` (whitespace tidied by BlankLineFilter); `notice` reports dropped
    /// turns, truncation, interruption.
    func reply(to text: String, emit: (String) -> Void, notice: (String) -> Void) {
        messages.append(ChatMessage(role: .user, content: text))
        var prompt = tokenizer.encodeChat(messages)
        // Context policy: the reply needs room for at least a few tokens; drop the oldest turns until it fits.
        let room = min(parameters.maxTokens, max(model.maxSequence / 4, 16))
        var dropped = 0
        while prompt.count + room > model.maxSequence {
            let first = messages.firstIndex { $0.role != .system }!
            if messages.count - first <= 1 {
                notice("this message alone needs \(prompt.count) tokens; the context holds \(model.maxSequence)")
                messages.removeLast()
                return
            }
            messages.remove(at: first)
            if first < messages.count && messages[first].role == .assistant { messages.remove(at: first) }
            dropped += 1
            prompt = tokenizer.encodeChat(messages)
        }
        if dropped > 0 { notice("context full: dropped the oldest \(dropped) turn\(dropped == 1 ? "" : "s")") }
        // Reuse the cache when the new prompt extends what it holds; otherwise start over.
        var fresh = prompt
        if !cached.isEmpty && cached.count < prompt.count && Array(prompt[..<cached.count]) == cached && model.length == cached.count {
            fresh = Array(prompt[cached.count...])
        } else {
            model.reset()
            // A loaded (or reset) conversation: whole blocks of it may be in the cache directory.
            if let disk = diskCache {
                let restored = disk.restore(prompt[...], limit: prompt.count - 1, valid: 0, into: model.cache)
                if restored > 0 {
                    model.adoptCachedPrefix(length: restored)
                    fresh = Array(prompt[restored...])
                    notice("restored \(restored) of \(prompt.count) prompt tokens from the cache directory")
                }
            }
        }
        var p = parameters
        p.maxTokens = min(parameters.maxTokens, model.maxSequence - prompt.count)
        let it = TokenIterator(model: model, tokenizer: tokenizer, prompt: fresh, parameters: p, history: prompt)
        lock.lock(); running = it; lock.unlock()
        var reply = ""
        var display = BlankLineFilter()
        var shown = false
        func show(_ text: String) {
            let visible = display.feed(text)
            shown = shown || !visible.isEmpty
            emit(visible)
        }
        for token in it {
            reply += token.text
            show(token.text)
            if display.newlineRun >= Self.newlineRunLimit { break }
        }
        let tail = it.flush()
        reply += tail
        show(tail)
        display.finish()
        if !shown && it.finishReason != .cancelled { emit("[empty reply]") }
        lock.lock(); running = nil; lock.unlock()
        switch it.finishReason {
        case .cancelled?: notice("stopped")
        case .length? where model.length >= model.maxSequence: notice("the reply reached the end of the context")
        case .length?: notice("the reply reached --max-tokens")
        default: break
        }
        // Kept as shown, without surrounding whitespace: the template writes "Assistant: " + reply + EOS.
        messages.append(ChatMessage(role: .assistant, content: reply.trimmingCharacters(in: .whitespacesAndNewlines)))
        cached = Array((prompt + it.generated).prefix(model.length))
    }
}
