import Foundation
import DSTensor
import Testing
@testable import DSTraining

/// The element-wise passes on the pool: the definitions (in f64), and the same bits for any thread count.
@Suite struct LayerPassesTests {
    static func random(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(Double(rng.next() % 20001) / 10000 - 1) }
    }

    @Test func rmsNormMatchesItsDefinitionOnAnyThreadCount() {
        let (n, d) = (75, 53)  // blocks of 32 rows with a ragged last one; d not a multiple of 16
        let x = Self.random(n * d, seed: 1), g = Self.random(d, seed: 2), dy = Self.random(n * d, seed: 3)
        func run(threads: Int) -> (y: [Float], dx: [Float], dg: [Float]) {
            let pool = WorkerPool(threads: threads)
            var y = [Float](repeating: 0, count: n * d), rstd = [Float](repeating: 0, count: n)
            var dx = [Float](repeating: 0.5, count: n * d), dg = [Float](repeating: 0.25, count: d)
            LayerPasses.rmsNormForward(&y, &rstd, x, g, n: n, d: d, eps: 1e-6, pool: pool)
            LayerPasses.rmsNormBackward(&dx, &dg, dy, x, g, rstd, n: n, d: d, pool: pool)
            return (y, dx, dg)
        }
        let one = run(threads: 1), two = run(threads: 2)
        #expect(one.y == two.y && one.dx == two.dx && one.dg == two.dg)
        // f64: y = g·x·r; dx = 0.5 + r·dy·g − x·r³·Σ(dy·g·x)/d; dg = 0.25 + Σ_rows dy·x·r.
        var dgWant = [Double](repeating: 0.25, count: d)
        for i in 0..<n {
            let row = (0..<d).map { Double(x[i * d + $0]) }
            let r = 1 / ((row.reduce(0) { $0 + $1 * $1 }) / Double(d) + 1e-6).squareRoot()
            let s = (0..<d).reduce(0.0) { $0 + Double(dy[i * d + $1]) * Double(g[$1]) * row[$1] }
            for j in 0..<d {
                #expect(abs(Double(one.y[i * d + j]) - Double(g[j]) * row[j] * r) < 1e-5)
                let dxWant = 0.5 + r * Double(dy[i * d + j]) * Double(g[j]) - row[j] * r * r * r * s / Double(d)
                #expect(abs(Double(one.dx[i * d + j]) - dxWant) < 1e-4 * max(1, abs(dxWant)))
                dgWant[j] += Double(dy[i * d + j]) * row[j] * r
            }
        }
        for j in 0..<d { #expect(abs(Double(one.dg[j]) - dgWant[j]) < 1e-4 * max(1, abs(dgWant[j]))) }
    }

    @Test func ropeBackwardUndoesTheForward() {
        let (n, heads, hd) = (40, 3, 40)  // half = 20: one 16-lane chunk and a tail
        let (cos, sin) = LayerPasses.ropeTables(headDim: hd, positions: n, theta: 10000)
        let positions = (0..<n).map { Int32($0 % 23) }
        let x = Self.random(n * heads * hd, seed: 4)
        var y = x
        let pool = WorkerPool(threads: 2)
        LayerPasses.rope(&y, n: n, positions: positions, heads: heads, headDim: hd, cos: cos, sin: sin, inverse: false, pool: pool)
        // Row 0 is at position 0: unrotated; a later row is rotated by its angle (checked in f64 for one pair).
        #expect(Array(y[0..<(heads * hd)]) == Array(x[0..<(heads * hd)]))
        let (r, i) = (5, 3), angle = 5 * (1 / Foundation.pow(10000, Double(2 * i) / Double(hd)))
        let (a, b) = (Double(x[r * heads * hd + i]), Double(x[r * heads * hd + i + hd / 2]))
        #expect(abs(Double(y[r * heads * hd + i]) - (a * Foundation.cos(angle) - b * Foundation.sin(angle))) < 1e-5)
        LayerPasses.rope(&y, n: n, positions: positions, heads: heads, headDim: hd, cos: cos, sin: sin, inverse: true, pool: pool)
        #expect(zip(x, y).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func swigluHasTheSameBitsForAnyThreadCount() {
        let count = 100_003  // ranges of the pool split at multiples of 16; the scalar tail only at the end
        let gate = Self.random(count, seed: 5).map { $0 * 6 }, up = Self.random(count, seed: 6), dh = Self.random(count, seed: 7)
        func run(threads: Int) -> [Float] {
            let pool = WorkerPool(threads: threads)
            var h = [Float](repeating: 0, count: count), dgate = h, dup = h
            LayerPasses.swigluForward(&h, gate: gate, up: up, count: count, pool: pool)
            LayerPasses.swigluBackward(dgate: &dgate, dup: &dup, dh: dh, gate: gate, up: up, count: count, pool: pool)
            return h + dgate + dup
        }
        let one = run(threads: 1)
        #expect(run(threads: 3) == one)
        #expect(run(threads: 7) == one)
        let g = Double(gate[17]), silu = g / (1 + Foundation.exp(-g))
        #expect(abs(Double(one[17]) - silu * Double(up[17])) < 1e-5)
    }
}
