import DSModel
@testable import DSServer
import Foundation
import Testing

/// The shared prefix cache on its own: the block tree, LRU eviction within the RAM budget, pins, and the disk
/// directory (round trip across a "restart", corrupt and foreign files ignored).
@Suite struct PrefixCacheTests {
    static let block = 16

    /// A cache whose every stored value encodes (layer, position, element, part), so a restored range can be checked.
    func filledCache(positions: Int = 128, seed: Float = 0) -> KVCache {
        let c = KVCache(layers: 2, positions: positions, kvDim: 8, precision: .f16)
        var k = [Float](repeating: 0, count: 8), v = k
        for l in 0..<2 {
            for p in 0..<positions {
                for e in 0..<8 {
                    k[e] = seed + Float(l * 1000 + p) / 64 + Float(e) / 8
                    v[e] = -k[e]
                }
                c.store(layer: l, position: p, keys: k, values: v)
            }
        }
        return c
    }

    func bytes(_ c: KVCache, _ range: Range<Int>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: c.blockByteCount(positions: range.count))
        out.withUnsafeMutableBytes { c.copyPositions(range, into: $0.baseAddress!) }
        return out
    }

    func cache(blocks ramBlocks: Int, directory: String? = nil, fingerprint: UInt64 = 42) -> PrefixCache {
        var o = PrefixCache.Options()
        o.blockTokens = Self.block
        o.ramBytes = ramBlocks * filledCache().blockByteCount(positions: Self.block)
        o.directory = directory
        return PrefixCache(options: o, fingerprint: fingerprint, blockBytes: filledCache().blockByteCount(positions: Self.block))
    }

    func tokens(_ n: Int, from: Int32 = 0) -> [Int32] { (0..<Int32(n)).map { from + $0 } }

    @Test func restoresTheLongestRunOfWholeBlocks() {
        let source = filledCache()
        let pc = cache(blocks: 100)
        let seq = tokens(70)
        pc.insert(seq[...], from: source)
        #expect(pc.stats.blocks == 4)  // 70 tokens: 4 whole blocks of 16, the 6 left over are not cached
        let target = KVCache(layers: 2, positions: 128, kvDim: 8, precision: .f16)
        // A prompt sharing 50 tokens gets 3 blocks (48), bit for bit.
        let prompt = Array(seq[0..<50]) + tokens(20, from: 9000)
        #expect(pc.restore(prompt[...], limit: prompt.count - 1, valid: 0, into: target) == 48)
        #expect(bytes(target, 0..<48) == bytes(source, 0..<48))
        // The limit keeps at least one token to run; a diverging first block restores nothing.
        #expect(pc.restore(seq[0..<32], limit: 31, valid: 0, into: target) == 16)
        #expect(pc.restore(tokens(40, from: 1)[...], limit: 39, valid: 0, into: target) == 0)
        // What the slot already holds is kept and counted as its own.
        #expect(pc.restore(prompt[...], limit: prompt.count - 1, valid: 40, into: target) == 48)
        #expect(pc.stats.hits == 3 && pc.stats.reusedTokens == 48 + 16 + 8)
        // Inserting the same tokens again adds nothing.
        pc.insert(seq[...], from: source)
        #expect(pc.stats.blocks == 4)
    }

    @Test func evictsLeastRecentlyUsedLeavesWithinTheBudget() {
        let source = filledCache()
        let pc = cache(blocks: 3)
        let a = tokens(32), b = tokens(32, from: 500), c = tokens(32, from: 900)
        pc.insert(a[...], from: source)
        pc.insert(b[...], from: source)  // 4 blocks > 3: a's leaf (the oldest) goes
        #expect(pc.stats.blocks == 3 && pc.stats.evictions == 1)
        let target = KVCache(layers: 2, positions: 128, kvDim: 8, precision: .f16)
        #expect(pc.restore(a[...], limit: 32, valid: 0, into: target) == 16)  // a's first block survived
        #expect(pc.restore(b[...], limit: 32, valid: 0, into: target) == 32)
        pc.insert(c[...], from: source)  // a was used before b: a's remaining block goes, then b's leaf
        #expect(pc.stats.blocks == 3 && pc.stats.bytes <= pc.options.ramBytes)
        #expect(pc.restore(c[...], limit: 32, valid: 0, into: target) == 32)
        #expect(pc.restore(a[...], limit: 32, valid: 0, into: target) == 0)
        // A path longer than the budget still inserts (pinned while added), then trims itself to fit.
        pc.insert(tokens(96, from: 3000)[...], from: filledCache(positions: 128))
        #expect(pc.stats.bytes <= pc.options.ramBytes)
    }

    @Test func evictedBlocksSurviveARestartOnDiskAndBadFilesAreIgnored() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-prefix-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = filledCache()
        let seq = tokens(48)
        do {
            let pc = cache(blocks: 0, directory: dir)  // everything is evicted at once, hence written
            pc.insert(seq[...], from: source)
            #expect(pc.stats.blocks == 0 && pc.stats.diskWrites == 3)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".kvb") }
        #expect(files.count == 3)
        // A new cache (the next server run) loads them instead of recomputing.
        let target = KVCache(layers: 2, positions: 128, kvDim: 8, precision: .f16)
        let restarted = cache(blocks: 10, directory: dir)
        #expect(restarted.restore(seq[...], limit: 47, valid: 0, into: target) == 32)
        #expect(restarted.stats.diskLoads == 2 && bytes(target, 0..<32) == bytes(source, 0..<32))
        // Another model's files (fingerprint) are not loaded.
        let foreign = cache(blocks: 10, directory: dir, fingerprint: 7)
        #expect(foreign.restore(seq[...], limit: 47, valid: 0, into: target) == 0)
        // One flipped payload byte in the second block's file: the first still loads, the second is ignored.
        let second = restarted.root.children[Array(seq[0..<16])]!.children[Array(seq[16..<32])]!
        let path = restarted.path(for: second.chainHash)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count - 20] ^= 0x40
        try data.write(to: URL(fileURLWithPath: path))
        let fresh = cache(blocks: 10, directory: dir)
        #expect(fresh.restore(seq[...], limit: 47, valid: 0, into: target) == 16)
        #expect(fresh.stats.diskRejected == 1)
        // A truncated file too.
        try data.prefix(100).write(to: URL(fileURLWithPath: path))
        let again = cache(blocks: 10, directory: dir)
        #expect(again.restore(seq[...], limit: 47, valid: 0, into: target) == 16 && again.stats.diskRejected == 1)
    }
}
