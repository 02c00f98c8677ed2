/// Several sequences per training row, with no attention or loss across them: each sequence restarts at
/// position 0 (RoPE and the attention window follow positions), its last token predicts nothing, and padding is
/// ignored. A packed row gives the same losses and gradients as the sequences run one by one.
public struct PackedRows: Sendable {
    public let seq: Int
    public private(set) var inputs: [Int32] = []
    public private(set) var targets: [Int32] = []
    public private(set) var positions: [Int32] = []
    /// Where each packed sequence went: its first flat index (row · seq + column) and length.
    public private(set) var spans: [(start: Int, count: Int)] = []
    public var rows: Int { inputs.count / seq }
    let pad: Int32

    public init(seq: Int, pad: Int32 = 0) {
        self.seq = seq
        self.pad = pad
    }

    /// Packs `sequences` in order, first fit into the current row, a new row when one does not fit
    /// (sequences must be at most `seq` long).
    public init(_ sequences: [MaskedSequence], seq: Int, pad: Int32 = 0) {
        self.init(seq: seq, pad: pad)
        for s in sequences { append(s) }
        finishRow()
    }

    public mutating func append(_ s: MaskedSequence) {
        precondition(!s.ids.isEmpty && s.ids.count <= seq, "a packed sequence has 1…\(seq) tokens")
        let used = inputs.count % seq
        if used > 0 && used + s.ids.count > seq { finishRow() }
        spans.append((inputs.count, s.ids.count))
        for i in s.ids.indices {
            inputs.append(s.ids[i])
            targets.append(i + 1 < s.ids.count && s.mask[i + 1] ? s.ids[i + 1] : -1)
            positions.append(Int32(i))
        }
    }

    /// Pads the current row to `seq` (ignored targets; padding counts as its own document).
    public mutating func finishRow() {
        var p: Int32 = 0
        while inputs.count % seq != 0 {
            inputs.append(pad)
            targets.append(-1)
            positions.append(p)
            p += 1
        }
    }

    /// Appends empty rows until there are a multiple of `multiple` rows (whole micro-batches).
    public mutating func padRows(toMultipleOf multiple: Int) {
        finishRow()
        while rows % multiple != 0 {
            for p in 0..<seq {
                inputs.append(pad)
                targets.append(-1)
                positions.append(Int32(p))
            }
        }
    }

    /// The number of targets that carry a loss.
    public var labelCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    /// Rows `range` as the flat arrays one forward takes.
    public func slice(rows range: Range<Int>) -> (inputs: [Int32], targets: [Int32], positions: [Int32]) {
        let r = (range.lowerBound * seq)..<(range.upperBound * seq)
        return (Array(inputs[r]), Array(targets[r]), Array(positions[r]))
    }
}
