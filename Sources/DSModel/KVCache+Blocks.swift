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
        precondition(range.lowerBound >= 0 && range.upperBound <= positions)
        let run = range.count * kvDim * elementBytes
        for (part, base) in [(0, keyStorage), (1, valueStorage)] {
            for l in 0..<layers {
                let src = base + (l * positions + range.lowerBound) * kvDim * elementBytes
                (out + (part * layers + l) * run).copyMemory(from: src, byteCount: run)
            }
        }
    }

    /// The inverse of `copyPositions`: writes a block's bytes at positions `range`.
    public func restorePositions(_ range: Range<Int>, from block: UnsafeRawPointer) {
        precondition(range.lowerBound >= 0 && range.upperBound <= positions)
        let run = range.count * kvDim * elementBytes
        for (part, base) in [(0, keyStorage), (1, valueStorage)] {
            for l in 0..<layers {
                let dst = base + (l * positions + range.lowerBound) * kvDim * elementBytes
                dst.copyMemory(from: block + (part * layers + l) * run, byteCount: run)
            }
        }
    }
}
