import Foundation

/// Counters, gauges and histograms for `GET /metrics` in Prometheus' text format. Updated from the
/// scheduler thread and the HTTP handlers, hence the lock.
public final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]      // "endpoint|status" → count
    private var promptTokens = 0
    private var generatedTokens = 0
    private var queueDepth = 0
    private var activeSlots = 0
    private var ttft = Histogram(bounds: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
    private var decodeRate = Histogram(bounds: [1, 2, 5, 10, 20, 50, 100, 200])
    private var prefix: PrefixCache.Stats?
    /// Prompt tokens that were not recomputed (restored from a slot or the prefix cache).
    private var reusedPromptTokens = 0

    struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum = 0.0
        var total = 0
        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }
        mutating func observe(_ v: Double) {
            for (i, b) in bounds.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            total += 1
        }
        func render(_ name: String, _ help: String) -> String {
            var s = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (b, c) in zip(bounds, counts) { s += "\(name)_bucket{le=\"\(b)\"} \(c)\n" }
            s += "\(name)_bucket{le=\"+Inf\"} \(total)\n\(name)_sum \(sum)\n\(name)_count \(total)\n"
            return s
        }
    }

    public init() {}

    func with<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The routes `dsllm serve` answers; anything else is counted as "other" — a label per path a client invents
    /// would let anyone grow /metrics (and the server's memory) without bound.
    static let knownEndpoints: Set<String> = ["/", "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions",
                                              "/tokenize", "/detokenize", "/tokenizer_info"]

    static func endpointLabel(_ path: String) -> String {
        if knownEndpoints.contains(path) { return path }
        if path.hasPrefix("/v1/models/") { return "/v1/models/:id" }
        return "other"
    }

    /// Counts a request; `endpoint` should come from `endpointLabel` (a fixed set of labels).
    public func countRequest(endpoint: String, status: Int) { with { requests["\(endpoint)|\(status)", default: 0] += 1 } }
    func addPromptTokens(_ n: Int) { with { promptTokens += n } }
    func addGeneratedTokens(_ n: Int) { with { generatedTokens += n } }
    func setQueueDepth(_ n: Int) { with { queueDepth = n } }
    func setActiveSlots(_ n: Int) { with { activeSlots = n } }
    func observeTimeToFirstToken(_ s: Double) { with { ttft.observe(s) } }
    func observeDecodeRate(_ r: Double) { with { decodeRate.observe(r) } }
    public var activeSlotCount: Int { with { activeSlots } }
    func setPrefixCache(_ s: PrefixCache.Stats) { with { prefix = s } }
    func recordPrefixReuse(tokens: Int, stats: PrefixCache.Stats) {
        with {
            reusedPromptTokens += tokens
            prefix = stats
        }
    }
    /// Prompt tokens restored instead of computed, since start (tests and the bench read it).
    public var reusedPromptTokenCount: Int { with { reusedPromptTokens } }
    public var prefixCacheStats: PrefixCache.Stats? { with { prefix } }

    /// Prometheus exposition text.
    public func render() -> String {
        with {
            var s = "# HELP dsllm_requests_total HTTP requests by endpoint and status.\n# TYPE dsllm_requests_total counter\n"
            for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "|", maxSplits: 1)
                s += "dsllm_requests_total{endpoint=\"\(parts[0])\",status=\"\(parts[1])\"} \(n)\n"
            }
            s += "# HELP dsllm_prompt_tokens_total Prompt tokens processed.\n# TYPE dsllm_prompt_tokens_total counter\n"
            s += "dsllm_prompt_tokens_total \(promptTokens)\n"
            s += "# HELP dsllm_generated_tokens_total Tokens generated.\n# TYPE dsllm_generated_tokens_total counter\n"
            s += "dsllm_generated_tokens_total \(generatedTokens)\n"
            s += "# HELP dsllm_queue_depth Requests waiting for a slot.\n# TYPE dsllm_queue_depth gauge\ndsllm_queue_depth \(queueDepth)\n"
            s += "# HELP dsllm_active_slots Slots running a request.\n# TYPE dsllm_active_slots gauge\ndsllm_active_slots \(activeSlots)\n"
            s += "# HELP dsllm_prompt_tokens_reused_total Prompt tokens restored from a slot or the prefix cache instead of computed.\n"
            s += "# TYPE dsllm_prompt_tokens_reused_total counter\ndsllm_prompt_tokens_reused_total \(reusedPromptTokens)\n"
            if let p = prefix {
                for (name, help, type, v) in [
                    ("lookups_total", "Requests that looked up the prefix cache.", "counter", p.lookups),
                    ("hits_total", "Lookups that restored at least one block.", "counter", p.hits),
                    ("reused_tokens_total", "Prompt tokens restored from cached blocks.", "counter", p.reusedTokens),
                    ("evictions_total", "Blocks evicted from RAM.", "counter", p.evictions),
                    ("blocks", "Blocks held in RAM.", "gauge", p.blocks),
                    ("bytes", "Bytes of blocks held in RAM.", "gauge", p.bytes),
                    ("disk_writes_total", "Evicted blocks written to the cache directory.", "counter", p.diskWrites),
                    ("disk_loads_total", "Blocks loaded from the cache directory.", "counter", p.diskLoads),
                    ("disk_rejected_total", "Cache files ignored (corrupt, truncated or another model's).", "counter", p.diskRejected),
                ] {
                    s += "# HELP dsllm_prefix_cache_\(name) \(help)\n# TYPE dsllm_prefix_cache_\(name) \(type)\ndsllm_prefix_cache_\(name) \(v)\n"
                }
            }
            s += ttft.render("dsllm_time_to_first_token_seconds", "Time from request to first generated token.")
            s += decodeRate.render("dsllm_decode_tokens_per_second", "Per-request decode speed after the first token.")
            return s
        }
    }
}
