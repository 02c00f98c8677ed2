import DSTensor
import Foundation
import Testing
@testable import DSTraining

/// The blocked attention's forward and backward against the definitions computed in f64, with several query blocks
/// (the last one ragged), grouped KV heads and packed documents whose positions restart inside a block.
@Suite struct BlockedAttentionTests {
    struct Shape {
        var batch = 2, seq = 150, heads = 4, kvHeads = 2, headDim = 24, queryBlock = 32
    }

    /// Sequence 0 packs three documents (starting at rows 0, 40 and 97); sequence 1 is one document.
    static func positions(_ s: Shape) -> [Int32] {
        (0..<(s.batch * s.seq)).map { r in
            let (b, t) = (r / s.seq, r % s.seq)
            guard b == 0 else { return Int32(t) }
            return Int32(t >= 97 ? t - 97 : t >= 40 ? t - 40 : t)
        }
    }

    struct Reference {
        var o: [Double], lse: [Double], dq: [Double], dk: [Double], dv: [Double]
    }

    static func reference(_ s: Shape, q: [Float], k: [Float], v: [Float], dout: [Float], positions: [Int32]) -> Reference {
        let (qw, kw, hd) = (s.heads * s.headDim, s.kvHeads * s.headDim, s.headDim)
        let scale = 1 / Double(hd).squareRoot()
        var r = Reference(o: .init(repeating: 0, count: q.count), lse: .init(repeating: 0, count: s.batch * s.heads * s.seq),
                          dq: .init(repeating: 0, count: q.count), dk: .init(repeating: 0, count: k.count),
                          dv: .init(repeating: 0, count: v.count))
        for b in 0..<s.batch {
            for h in 0..<s.heads {
                let kvh = h / (s.heads / s.kvHeads)
                for t in 0..<s.seq {
                    let row = b * s.seq + t, first = t - Int(positions[row])
                    let keys = Array(first...t)
                    let scores = keys.map { j in
                        (0..<hd).reduce(0.0) { $0 + Double(q[row * qw + h * hd + $1]) * Double(k[(b * s.seq + j) * kw + kvh * hd + $1]) } * scale
                    }
                    let mx = scores.max()!
                    let sum = scores.reduce(0.0) { $0 + exp($1 - mx) }
                    r.lse[(b * s.heads + h) * s.seq + t] = mx + log(sum)
                    let p = scores.map { exp($0 - mx) / sum }
                    // dP_j = do·v_j, dS_j = P_j (dP_j − Σ P dP)
                    let dp = keys.map { j in
                        (0..<hd).reduce(0.0) { $0 + Double(dout[row * qw + h * hd + $1]) * Double(v[(b * s.seq + j) * kw + kvh * hd + $1]) }
                    }
                    let dot = zip(p, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                    for (n, j) in keys.enumerated() {
                        let kvRow = (b * s.seq + j) * kw + kvh * hd
                        let ds = p[n] * (dp[n] - dot) * scale
                        for i in 0..<hd {
                            r.o[row * qw + h * hd + i] += p[n] * Double(v[kvRow + i])
                            r.dq[row * qw + h * hd + i] += ds * Double(k[kvRow + i])
                            r.dk[kvRow + i] += ds * Double(q[row * qw + h * hd + i])
                            r.dv[kvRow + i] += p[n] * Double(dout[row * qw + h * hd + i])
                        }
                    }
                }
            }
        }
        return r
    }

    /// Largest |got − want| over the largest |want|.
    static func error(_ got: [Float], _ want: [Double]) -> Double {
        let scale = max(want.map { abs($0) }.max()!, 1e-30)
        return zip(got, want).map { abs(Double($0) - $1) }.max()! / scale
    }

    @Test(arguments: [Shape(), Shape(batch: 1, seq: 70, heads: 2, kvHeads: 2, headDim: 16, queryBlock: 70),
                      Shape(batch: 1, seq: 45, heads: 3, kvHeads: 1, headDim: 7, queryBlock: 16)])
    func matchesTheDefinition(_ s: Shape) {
        var rng = SplitMix64(seed: UInt64(s.seq * 31 + s.headDim))
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) } }
        let rows = s.batch * s.seq, (qw, kw) = (s.heads * s.headDim, s.kvHeads * s.headDim)
        // Scores of a few units, as in training: the softmax is neither uniform nor one-hot.
        let q = random(rows * qw).map { $0 * 2 }, k = random(rows * kw), v = random(rows * kw), dout = random(rows * qw)
        let positions = Self.positions(s)
        let want = Self.reference(s, q: q, k: k, v: v, dout: dout, positions: positions)

        let pool = WorkerPool(threads: 2)
        let attention = BlockedAttention(batch: s.batch, seq: s.seq, heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim,
                                         pool: pool, queryBlock: s.queryBlock)
        var o = [Float](repeating: 0, count: rows * qw), lse = [Float](repeating: 0, count: s.batch * s.heads * s.seq)
        // dq is overwritten (start it dirty); dk and dv accumulate from zero.
        var dq = [Float](repeating: 7, count: rows * qw), dk = [Float](repeating: 0, count: rows * kw), dv = dk
        positions.withUnsafeBufferPointer { pos in
            attention.forward(&o, &lse, q: q, k: k, v: v, positions: pos.baseAddress!, threads: 2)
            attention.backward(dq: &dq, dk: &dk, dv: &dv, dout: dout, q: q, k: k, v: v, lse: lse, positions: pos.baseAddress!,
                               threads: 2)
        }
        #expect(Self.error(o, want.o) < 1e-5, "output")
        #expect(zip(lse, want.lse).map { abs(Double($0) - $1) }.max()! < 1e-5, "log-sum-exp")
        #expect(Self.error(dq, want.dq) < 1e-4, "dq")
        #expect(Self.error(dk, want.dk) < 1e-4, "dk")
        #expect(Self.error(dv, want.dv) < 1e-5, "dv")
    }
}
