import DSFormats
import DSTensor
import Foundation
import Testing

/// Golden data from gguf-py's numpy reference (tools/golden/make_quant_golden.py).
@Suite struct QuantizationTests {
    struct Case: Decodable {
        var type: String
        var input: String
        var rows: Int
        var columns: Int
        var input_f32: String?
        var quantized: String
        var dequantized_f32: String
    }
    struct Golden: Decodable { var cases: [Case] }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/quant-golden.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var it = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
        return out
    }

    static func floats(_ hex: String) -> [Float] {
        let b = bytes(hex)
        return (0..<b.count / 4).map { i in
            Float(bitPattern: UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8 | UInt32(b[4 * i + 2]) << 16 | UInt32(b[4 * i + 3]) << 24)
        }
    }

    static func type(_ name: String) -> GGMLType {
        switch name {
        case "F16": return .f16
        case "BF16": return .bf16
        case "Q8_0": return .q8_0
        case "Q4_0": return .q4_0
        case "Q4_1": return .q4_1
        case "Q5_0": return .q5_0
        case "Q5_1": return .q5_1
        case "Q4_K": return .q4_K
        case "Q5_K": return .q5_K
        default: return .q6_K
        }
    }

    @Test func dequantizationIsBitExact() {
        #expect(Self.golden.cases.count >= 30)
        for c in Self.golden.cases {
            let t = Self.type(c.type)
            let q = Self.bytes(c.quantized)
            let expected = Self.floats(c.dequantized_f32)
            var out = [Float](repeating: .nan, count: c.rows * c.columns)
            q.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { dst in
                    Dequantize.row(t, src.baseAddress!, count: c.rows * c.columns, into: dst.baseAddress!)
                }
            }
            let mismatches = zip(out, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(mismatches == 0, "\(c.type) \(c.input): \(mismatches) values differ")
        }
    }

    @Test func quantizationIsBitExact() {
        for c in Self.golden.cases {
            guard let input = c.input_f32 else { continue }
            let t = Self.type(c.type)
            let x = Self.floats(input)
            let n = c.rows * c.columns
            var out = [UInt8](repeating: 0, count: n / t.blockSize * t.blockBytes)
            x.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { Quantize.row(t, src.baseAddress!, count: n, into: $0.baseAddress!) }
            }
            let expected = Self.bytes(c.quantized)
            let firstDiff = zip(out, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(out == expected, "\(c.type) \(c.input): first differing byte \(String(describing: firstDiff))")
        }
    }

    /// K-quant writing against ggml's C reference quantizers (tools/golden/make_kquant_golden.py): byte for byte.
    @Test func kQuantizationMatchesGGMLByteForByte() throws {
        struct KCase: Decodable { var type: String; var input: String; var rows: Int; var columns: Int; var input_f32: String; var quantized: String }
        struct KGolden: Decodable { var cases: [KCase] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/kquant-golden.json")
        let golden = try JSONDecoder().decode(KGolden.self, from: Data(contentsOf: url))
        #expect(golden.cases.count == 12)
        for c in golden.cases {
            let t = Self.type(c.type)
            let x = Self.floats(c.input_f32)
            let n = c.rows * c.columns
            var out = [UInt8](repeating: 0xAA, count: n / t.blockSize * t.blockBytes)
            x.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { Quantize.row(t, src.baseAddress!, count: n, into: $0.baseAddress!) }
            }
            let expected = Self.bytes(c.quantized)
            let diffs = zip(out, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(diffs.isEmpty, "\(c.type) \(c.input): \(diffs.count) bytes differ, first at \(diffs.first ?? -1)")
        }
    }

    @Test func halfConversionsCoverSpecialValues() {
        #expect(HalfFloat.toFloat(0x7C00) == .infinity)
        #expect(HalfFloat.toFloat(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))  // smallest subnormal
        #expect(HalfFloat.toFloat(0x7E00).isNaN)
        #expect(HalfFloat.fromFloat(65520) == 0x7C00)  // rounds to infinity
        #expect(BFloat16.fromFloat(1.00390625) == 0x3F80)  // tie → even
        #expect(BFloat16.fromFloat(1.01171875) == 0x3F82)  // tie → even (up)
        #expect(BFloat16.toFloat(BFloat16.fromFloat(.nan)).isNaN)
    }
}
