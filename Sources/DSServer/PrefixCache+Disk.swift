import DSFormats
import DSModel
import Foundation

/// Evicted blocks kept in a directory, one file per block, named by the hash of every token up to the block's end.
///
/// File layout (little-endian): magic "DSLLMKV1", fingerprint u64, block tokens u32, depth u32 (blocks from the
/// start, this one included), payload bytes u64, the depth × block token ids (i32) of the whole prefix, the payload
/// (the block's keys and values as the cache stores them), FNV-1a 64 of everything before it. A file is loaded only
/// if every field matches the request — same model and layout, same prefix tokens, checksum — so a corrupt,
/// truncated, foreign or colliding file is ignored (counted), never loaded. Files are written via a temporary name
/// and rename; the server never deletes them (they are the user's cache directory).
extension PrefixCache {
    static let magic = Array("DSLLMKV1".utf8)

    func path(for hash: UInt64) -> String {
        (options.directory! as NSString).appendingPathComponent(String(format: "%016llx.kvb", hash))
    }

    /// The tokens from the root to `node`, inclusive.
    func prefixTokens(_ node: Node) -> [Int32] {
        var blocks: [[Int32]] = []
        var n: Node? = node
        while let cur = n, cur !== root {
            blocks.append(cur.tokens)
            n = cur.parent
        }
        return blocks.reversed().flatMap { $0 }
    }

    /// Writes an evicted block unless its file already exists. Failures (disk full, permissions) only cost reuse.
    func spill(_ node: Node) {
        let file = path(for: node.chainHash)
        if FileManager.default.fileExists(atPath: file) { return }
        let tokens = prefixTokens(node)
        var out: [UInt8] = Self.magic
        out.reserveCapacity(40 + 4 * tokens.count + blockBytes + 8)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(fingerprint)
        put(UInt32(options.blockTokens))
        put(UInt32(node.depth))
        put(UInt64(blockBytes))
        for t in tokens { put(t) }
        out.append(contentsOf: UnsafeRawBufferPointer(start: node.data!, count: blockBytes))
        put(Self.fnv(out[...]))
        do {
            try FileManager.default.createDirectory(atPath: options.directory!, withIntermediateDirectories: true)
            try writeAtomically(Data(out), to: file)
            stats.diskWrites += 1
        } catch {
            // The block is simply not kept; the next request recomputes it.
        }
    }

    /// The block following `parent` for these prefix tokens, from its file if there is a valid one.
    func loadFromDisk(parent: Node, block: [Int32], prefix: ArraySlice<Int32>) -> Node? {
        let hash = Self.chain(parent.chainHash, block)
        let file = path(for: hash)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let depth = parent.depth + 1
        let expected = 8 + 8 + 4 + 4 + 8 + 4 * prefix.count + blockBytes + 8
        let bytes = [UInt8](data)
        func read<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
        }
        guard bytes.count == expected, Array(bytes[0..<8]) == Self.magic, read(8, UInt64.self) == fingerprint,
              read(16, UInt32.self) == UInt32(options.blockTokens), read(20, UInt32.self) == UInt32(depth),
              read(24, UInt64.self) == UInt64(blockBytes),
              read(expected - 8, UInt64.self) == Self.fnv(bytes[0..<(expected - 8)]) else {
            stats.diskRejected += 1
            return nil
        }
        for (i, t) in prefix.enumerated() where read(32 + 4 * i, Int32.self) != t {
            stats.diskRejected += 1  // a hash collision or a file renamed by hand: not this prefix
            return nil
        }
        let payload = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 64)
        bytes.withUnsafeBytes { payload.copyMemory(from: $0.baseAddress! + 32 + 4 * prefix.count, byteCount: blockBytes) }
        return adopt(parent: parent, block: block, data: payload)
    }

    static func fnv(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}

extension PrefixCache {
    /// Inserts the whole blocks of `tokens` as `insert` does and writes each of them to the directory now, not only
    /// when evicted: `dsllm chat` does this at /save, so that loading the conversation later (another process)
    /// restores its keys and values instead of prefilling them. Blocks already on disk are not rewritten.
    public func persist(_ tokens: ArraySlice<Int32>, from cache: KVCache) {
        guard options.directory != nil else { return }
        insert(tokens, from: cache)
        let b = options.blockTokens
        var node = root
        var start = tokens.startIndex
        while start + b <= tokens.endIndex, let child = node.children[Array(tokens[start..<(start + b)])] {
            spill(child)
            node = child
            start += b
        }
    }
}
