import Foundation

/// Copying runs of positions out of and into the cache, for a prefix cache that outlives a sequence: a block's
/// keys and values are stored as they are in the cache (same precision, same bits), so a prefix restored from a
/// block attends exactly as the one computed in place.
extension KVCache {
    /// Bytes of `count` positions' keys and values over every layer.
    public func blockByteCount(positions count: Int) -> Int { 2 * layers * count * kvDim * elementBytes }

    /// Bytes per stored value (4 for f32, 2 for f16/bf16).
    public var elementBytes: Int { precision == .f32 ? 4 : 2 }

    /// Copies positions `range` of every layer into `out` (`blockByteCount(positions: range.count)` bytes), keys of
    /// all layers first, then values.
    public func copyPositions(_ range: Range<Int>, into out: UnsafeMutableRawPointer) {
        forEachRun(range) { stored, blockOffset, bytes in (out + blockOffset).copyMemory(from: stored, byteCount: bytes) }
    }

    /// The inverse of `copyPositions`: writes a block's bytes at positions `range`.
    public func restorePositions(_ range: Range<Int>, from block: UnsafeRawPointer) {
        forEachRun(range) { stored, blockOffset, bytes in stored.copyMemory(from: block + blockOffset, byteCount: bytes) }
    }

    /// The block layout, once: for keys then values, for each layer, the cache's run of `range` and its offset in a block.
    private func forEachRun(_ range: Range<Int>, _ body: (UnsafeMutableRawPointer, Int, Int) -> Void) {
        precondition(range.lowerBound >= 0 && range.upperBound <= positions)
        let run = range.count * kvDim * elementBytes
        for (part, base) in [(0, keyStorage), (1, valueStorage)] {
            for l in 0..<layers {
                body(base + (l * positions + range.lowerBound) * kvDim * elementBytes, (part * layers + l) * run, run)
            }
        }
    }
}
