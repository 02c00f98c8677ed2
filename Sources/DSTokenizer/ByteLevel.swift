/// GPT-2's byte-to-unicode alphabet: every byte value gets a printable code point, so that
/// byte-level BPE vocabularies can be stored as text. Printable Latin-1 bytes map to themselves;
/// the other 68 bytes map to U+0100 upwards, in byte order.
public enum ByteLevel {
    /// byte → code point.
    public static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// code point (0..<0x144) → byte, or -1 when the code point is not in the alphabet.
    public static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// UTF-8 of each byte's code point (1 or 2 bytes).
    public static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// Maps raw bytes to their byte-level text form ("hello world" → "helloĠworld").
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }

    /// Maps byte-level text back to raw bytes; nil when a code point is outside the alphabet.
    public static func decode(_ utf8: UnsafeRawBufferPointer) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let b0 = utf8[i]
            var cp: Int
            if b0 < 0x80 {
                cp = Int(b0); i += 1
            } else if b0 & 0xE0 == 0xC0, i + 1 < utf8.count {
                cp = (Int(b0 & 0x1F) << 6) | Int(utf8[i + 1] & 0x3F); i += 2
            } else {
                return nil  // 3- and 4-byte sequences are never in the alphabet
            }
            guard cp < scalarToByte.count, scalarToByte[cp] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[cp]))
        }
        return out
    }

    /// Appends the raw bytes of byte-level text to `out`; returns false (leaving `out` unchanged)
    /// when a code point is outside the alphabet.
    @inline(__always)
    static func decode(_ utf8: UnsafeRawBufferPointer, appendingTo out: inout [UInt8]) -> Bool {
        let mark = out.count
        var i = 0
        let n = utf8.count
        while i < n {
            let b0 = utf8[i]
            let cp: Int
            if b0 < 0x80 {
                cp = Int(b0); i += 1
            } else if b0 & 0xE0 == 0xC0, i + 1 < n {
                cp = (Int(b0 & 0x1F) << 6) | Int(utf8[i + 1] & 0x3F); i += 2
            } else {
                out.removeSubrange(mark...)
                return false
            }
            guard cp < scalarToByte.count, scalarToByte[cp] >= 0 else {
                out.removeSubrange(mark...)
                return false
            }
            out.append(UInt8(truncatingIfNeeded: scalarToByte[cp]))
        }
        return true
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var t = text
        return t.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }
}
