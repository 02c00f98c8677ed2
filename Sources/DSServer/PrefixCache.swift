import DSModel
import Foundation

/// Keys and values of prompt prefixes, shared by every slot of the server (SGLang's RadixAttention idea, with
/// fixed-size blocks as vLLM pages them): a tree whose edges are blocks of `blockTokens` token ids, each node holding
/// the KV of its block — which depends on every token before it, hence the tree. A new request restores the longest
/// cached run of blocks into its slot's cache and prefills only the rest.
///
/// Blocks are copied in and out of the slots' contiguous caches (a memcpy of the positions, in the cache's own
/// precision), so a restored prefix is bit-identical with one computed in place. Blocks in use are pinned
/// (reference-counted) while a request restores them; the least recently used unpinned leaves are evicted when the
/// cache outgrows `ramBytes`, and, with a `directory`, written there first (`PrefixCache+Disk.swift`) so that a later
/// request — or the next server run — loads them instead of recomputing. Used from the scheduler thread only.
public final class PrefixCache {
    public struct Options: Sendable {
        /// Tokens per block (the unit of reuse: a prompt shares whole blocks).
        public var blockTokens = 64
        /// RAM for blocks; beyond it the least recently used are evicted.
        public var ramBytes = 1 << 30
        /// Where evicted blocks are kept across evictions and restarts (nil: evicted blocks are dropped).
        public var directory: String?
        public init() {}
    }

    /// Counters for /metrics.
    public struct Stats: Sendable, Equatable {
        public var lookups = 0
        public var hits = 0
        public var reusedTokens = 0
        public var evictions = 0
        public var blocks = 0
        public var bytes = 0
        public var diskWrites = 0
        public var diskLoads = 0
        /// Files in the directory that were not loaded: corrupt, truncated, another model's or another layout's.
        public var diskRejected = 0
    }

    final class Node {
        let tokens: [Int32]
        unowned(unsafe) let parent: Node?
        var children: [[Int32]: Node] = [:]
        let data: UnsafeMutableRawPointer?
        /// Blocks from the root (the root is 0): this block covers positions (depth − 1)·B ..< depth·B.
        let depth: Int
        /// Hash of every token up to the end of this block (with the model's fingerprint): the disk file's name.
        let chainHash: UInt64
        var lastUse: UInt64 = 0
        var pins = 0

        init(tokens: [Int32], parent: Node?, data: UnsafeMutableRawPointer?, chainHash: UInt64) {
            self.tokens = tokens
            self.parent = parent
            self.data = data
            depth = (parent?.depth ?? -1) + 1
            self.chainHash = chainHash
        }

        deinit { data?.deallocate() }
    }

    public let options: Options
    /// Identifies the model and cache layout the blocks belong to (shape, precision, a hash of weight bytes).
    public let fingerprint: UInt64
    public let blockBytes: Int
    public internal(set) var stats = Stats()
    let root: Node
    private var tick: UInt64 = 0

    /// `blockBytes`: bytes of one block's keys and values (`KVCache.blockByteCount(positions: blockTokens)`).
    public init(options: Options, fingerprint: UInt64, blockBytes: Int) {
        precondition(options.blockTokens > 0 && blockBytes > 0)
        self.options = options
        self.fingerprint = fingerprint
        self.blockBytes = blockBytes
        root = Node(tokens: [], parent: nil, data: nil, chainHash: fingerprint)
    }

    /// The cache for the slots' caches of `weights` (all slots share one layout).
    public convenience init(options: Options, weights: ModelWeights, cache: KVCache) {
        self.init(options: options, fingerprint: PrefixCache.fingerprint(weights, cache), blockBytes: cache.blockByteCount(positions: options.blockTokens))
    }

    /// Restores into `cache` the longest cached run of whole blocks that starts `tokens`, never more than `limit`
    /// tokens, skipping positions below `valid` (already holding these tokens' KV, e.g. the slot's own previous
    /// request). Returns the number of leading tokens whose KV the cache now holds (≥ `valid` rounded down).
    public func restore(_ tokens: ArraySlice<Int32>, limit: Int, valid: Int, into cache: KVCache) -> Int {
        stats.lookups += 1
        let path = match(tokens, limit: limit)
        defer { for n in path { n.pins -= 1 } }
        let cached = path.count * options.blockTokens
        guard cached > valid else { return valid }
        let b = options.blockTokens
        for node in path where node.depth * b > valid {
            let start = (node.depth - 1) * b
            cache.restorePositions(start..<(start + b), from: node.data!)
        }
        stats.hits += 1
        stats.reusedTokens += cached - valid
        return cached
    }

    /// The cached blocks starting `tokens` (at most `limit` tokens), pinned; from RAM, else from the directory.
    func match(_ tokens: ArraySlice<Int32>, limit: Int) -> [Node] {
        let b = options.blockTokens
        var path: [Node] = []
        var node = root
        var start = tokens.startIndex
        tick += 1
        while start + b <= tokens.startIndex + min(limit, tokens.count) {
            let key = Array(tokens[start..<(start + b)])
            var next = node.children[key]
            if next == nil, options.directory != nil {
                next = loadFromDisk(parent: node, block: key, prefix: tokens[tokens.startIndex..<(start + b)])
            }
            guard let child = next else { break }
            child.lastUse = tick
            child.pins += 1
            path.append(child)
            node = child
            start += b
        }
        return path
    }

    /// Adds the whole blocks of `tokens` (whose KV `cache` holds at positions 0..<tokens.count) that are not cached
    /// yet, copying their keys and values; marks the cached ones as just used. Then evicts down to the budget.
    public func insert(_ tokens: ArraySlice<Int32>, from cache: KVCache) {
        let b = options.blockTokens
        var node = root
        var start = tokens.startIndex
        tick += 1
        var path: [Node] = []
        while start + b <= tokens.endIndex {
            let key = Array(tokens[start..<(start + b)])
            let child: Node
            if let existing = node.children[key] {
                child = existing
            } else {
                let data = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 64)
                let position = start - tokens.startIndex
                cache.copyPositions(position..<(position + b), into: data)
                child = Node(tokens: key, parent: node, data: data, chainHash: Self.chain(node.chainHash, key))
                node.children[key] = child
                stats.blocks += 1
                stats.bytes += blockBytes
            }
            child.lastUse = tick
            child.pins += 1  // the path being added is never evicted by its own insertion
            path.append(child)
            node = child
            start += b
        }
        evictToBudget()
        for n in path { n.pins -= 1 }
        evictToBudget()
    }

    /// Adopts a block read from disk (already validated) under `parent`.
    func adopt(parent: Node, block: [Int32], data: UnsafeMutableRawPointer) -> Node {
        let child = Node(tokens: block, parent: parent, data: data, chainHash: Self.chain(parent.chainHash, block))
        parent.children[block] = child
        stats.blocks += 1
        stats.bytes += blockBytes
        stats.diskLoads += 1
        evictToBudget()
        return child
    }

    /// Evicts least recently used, unpinned leaves until the blocks fit in `ramBytes` (spilling them to the
    /// directory when there is one). Interior nodes go only after their children: a block without its prefix's
    /// blocks could never be reached.
    func evictToBudget() {
        guard stats.bytes > options.ramBytes else { return }
        var leaves: [Node] = []
        func collect(_ n: Node) {
            if n.children.isEmpty { if n !== root && n.pins == 0 { leaves.append(n) } } else { n.children.values.forEach(collect) }
        }
        collect(root)
        while stats.bytes > options.ramBytes && !leaves.isEmpty {
            // Oldest first; a parent left childless joins the candidates.
            leaves.sort { $0.lastUse > $1.lastUse }
            let victim = leaves.removeLast()
            if options.directory != nil { spill(victim) }
            let parent = victim.parent!
            parent.children[victim.tokens] = nil
            stats.blocks -= 1
            stats.bytes -= blockBytes
            stats.evictions += 1
            if parent !== root && parent.children.isEmpty && parent.pins == 0 { leaves.append(parent) }
        }
    }

    /// FNV-1a over the block's token ids, continuing `seed`.
    static func chain(_ seed: UInt64, _ block: [Int32]) -> UInt64 {
        var h = seed
        for t in block {
            var v = UInt32(bitPattern: t)
            for _ in 0..<4 {
                h = (h ^ UInt64(v & 0xFF)) &* 0x100000001b3
                v >>= 8
            }
        }
        return h
    }

    /// Model shape, cache precision and the first bytes of the embedding and output matrices: two models, or two
    /// cache types, never share blocks (on disk especially).
    static func fingerprint(_ w: ModelWeights, _ cache: KVCache) -> UInt64 {
        let c = w.config
        var h: UInt64 = 0xcbf29ce484222325
        func mix(_ x: UInt64) {
            var v = x
            for _ in 0..<8 {
                h = (h ^ (v & 0xFF)) &* 0x100000001b3
                v >>= 8
            }
        }
        for x in [c.vocabularySize, c.hiddenSize, c.intermediateSize, c.layerCount, c.headCount, c.kvHeadCount,
                  c.headDim, cache.elementBytes, Int(cache.precision == .bf16 ? 1 : 0)] { mix(UInt64(x)) }
        mix(UInt64(c.ropeTheta.bitPattern))
        for m in [w.embedding, w.output] {
            let bytes = UnsafeRawBufferPointer(start: m.base, count: min(m.byteCount, 1 << 16))
            for i in stride(from: 0, to: bytes.count - 7, by: 8) { mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
        }
        return h
    }
}
