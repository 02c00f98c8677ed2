import CMPI
import Foundation

/// Data parallelism over MPI ranks with ZeRO-1 (`mpirun -np N dsllm train …`): every rank holds all parameters,
/// runs its 1/N of each global batch's micro-batches, and owns 1/N of the flat slab for the optimizer. Per step:
/// gradients are summed and scattered (reduce-scatter, in buckets) so each rank has its range's total; the global
/// gradient norm is one all-reduce of a double; each rank runs AdamW on its range (1/N of the moments); the updated
/// ranges are all-gathered. Without mpirun this is one rank and every call is a no-op.
public final class DataParallel: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public var isMain: Bool { rank == 0 }
    /// Elements per collective call (MPI counts are 32-bit; buckets also bound the in-flight message size).
    public var bucketElements = 1 << 24

    public static let single = DataParallel(rank: 0, size: 1)

    init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// Joins the MPI job when started by mpirun; a single rank otherwise.
    public static func start() throws -> DataParallel {
        var r: Int32 = 0, n: Int32 = 1
        var error: UnsafePointer<CChar>?
        let rc = dsllm_mpi_init(&r, &n, &error)
        if rc < 0 { throw TrainingError(error.map { String(cString: $0) } ?? "MPI initialization failed") }
        return rc == 0 ? .single : DataParallel(rank: Int(r), size: Int(n))
    }

    /// Rank r's contiguous range of a flat array of `count` elements (the first `count % size` ranks get one more).
    public func shard(of count: Int, rank r: Int? = nil) -> Range<Int> {
        let r = r ?? rank, base = count / size, extra = count % size
        let lo = r * base + min(r, extra)
        return lo..<(lo + base + (r < extra ? 1 : 0))
    }

    public func sum(_ x: Double) -> Double {
        guard size > 1 else { return x }
        var v = x
        _ = dsllm_mpi_allreduce_sum_double(&v, 1)
        return v
    }

    /// Per bucket [lo, hi): how much of each rank's shard falls inside, and where.
    func pieces(_ lo: Int, _ hi: Int, total: Int) -> (counts: [Int32], displs: [Int32]) {
        var counts = [Int32](), displs = [Int32]()
        for r in 0..<size {
            let s = shard(of: total, rank: r)
            let a = max(lo, s.lowerBound), b = min(hi, s.upperBound)
            counts.append(Int32(max(0, b - a)))
            displs.append(Int32(max(0, a - lo)))
        }
        return (counts, displs)
    }

    /// After this, elements of this rank's shard hold the sum of every rank's values (others are scratch).
    public func reduceScatterSum(_ data: UnsafeMutablePointer<Float>, count: Int) {
        reduceScatterSum(data, count: count, range: 0..<count)
    }

    /// The same for `range` of the flat array only (a layer whose backward has finished), in buckets.
    public func reduceScatterSum(_ data: UnsafeMutablePointer<Float>, count: Int, range: Range<Int>) {
        guard size > 1 else { return }
        let mine = shard(of: count)
        var lo = range.lowerBound
        while lo < range.upperBound {
            let hi = min(range.upperBound, lo + bucketElements)
            let (counts, displs) = pieces(lo, hi, total: count)
            _ = dsllm_mpi_reduce_scatter_sum_float(data + lo, counts)
            // MPI_IN_PLACE puts this rank's piece at the start of the bucket: move it home.
            let n = Int(counts[rank])
            if n > 0 && displs[rank] > 0 { (data + max(lo, mine.lowerBound)).update(from: data + lo, count: n) }
            lo = hi
        }
    }

    /// Every rank's shard of `data` copied to all ranks.
    public func allGather(_ data: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1 else { return }
        var lo = 0
        while lo < count {
            let hi = min(count, lo + bucketElements)
            let (counts, displs) = pieces(lo, hi, total: count)
            _ = dsllm_mpi_allgatherv_float(data + lo, counts, displs)
            lo = hi
        }
    }

    /// The full moments of a sharded optimizer (for a checkpoint): a collective, every rank must call it.
    public func gatherMoments(_ o: AdamW) -> AdamW {
        let full = AdamW(slab: o.slab, options: o.options, pool: o.pool)
        full.restoreStep(o.step)
        for (src, dst) in [(o.m, full.m), (o.v, full.v)] {
            (dst + o.range.lowerBound).update(from: src, count: o.range.count)
            allGather(dst, count: o.slab.count)
        }
        return full
    }

    /// Reduce-scatters gradient ranges on a communication thread while the backward goes on (the paper's overlap
    /// of the last micro-batch's backward with ZeRO-1's reduce-scatter). Ranges must be enqueued in the same
    /// order on every rank (they are: the backward visits the layers in the same order everywhere).
    public final class OverlappedReduceScatter: @unchecked Sendable {
        let parallel: DataParallel
        let data: UnsafeMutablePointer<Float>
        let count: Int
        let queue = DispatchQueue(label: "dsllm.reduce-scatter")
        public private(set) var covered = 0

        public init(_ parallel: DataParallel, data: UnsafeMutablePointer<Float>, count: Int) {
            self.parallel = parallel
            self.data = data
            self.count = count
        }

        public func enqueue(_ range: Range<Int>) {
            covered += range.count
            nonisolated(unsafe) let data = data
            let (parallel, count) = (parallel, count)
            queue.async { parallel.reduceScatterSum(data, count: count, range: range) }
        }

        /// Blocks until every enqueued range is reduced.
        public func wait() { queue.sync {} }
    }

    public func barrier() { _ = dsllm_mpi_barrier() }
    public func finish() { dsllm_mpi_finalize() }
    /// Stops every rank (a rank that fails alone would leave the others waiting in a collective).
    public func abort(_ code: Int32) -> Never {
        dsllm_mpi_abort(code)
        exit(code)
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
