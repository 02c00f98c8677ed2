/// UTF-8 validation and repair, on raw bytes (no `String` round trips in the hot path).

/// Length of the valid UTF-8 sequence starting at `i`, or 0 if the bytes there are invalid
/// (bad lead byte, bad or missing continuation, overlong form, surrogate, or > U+10FFFF).
@inline(__always)
func validSequenceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
    let b0 = p[i]
    if b0 < 0x80 { return 1 }
    @inline(__always) func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
    switch b0 {
    case 0xC2...0xDF:
        return cont(1) ? 2 : 0
    case 0xE0...0xEF:
        guard cont(1), cont(2) else { return 0 }
        let b1 = p[i + 1]
        if b0 == 0xE0 && b1 < 0xA0 { return 0 }  // overlong
        if b0 == 0xED && b1 >= 0xA0 { return 0 }  // surrogate
        return 3
    case 0xF0...0xF4:
        guard cont(1), cont(2), cont(3) else { return 0 }
        let b1 = p[i + 1]
        if b0 == 0xF0 && b1 < 0x90 { return 0 }  // overlong
        if b0 == 0xF4 && b1 >= 0x90 { return 0 }  // > U+10FFFF
        return 4
    default:
        return 0
    }
}

/// Offset of the first byte that does not start a valid UTF-8 sequence, or nil when all is valid.
public func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    guard let p = bytes.baseAddress else { return nil }
    let n = bytes.count
    var i = 0
    while i < n {
        // ASCII fast path, 8 bytes at a time
        while i + 8 <= n && UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i += 8
        }
        if i >= n { break }
        let len = validSequenceLength(p, i, n)
        if len == 0 { return i }
        i += len
    }
    return nil
}

/// Replaces each byte that does not start a valid sequence with U+FFFD (EF BF BD), one per byte,
/// which is what llama.cpp does.
public func replaceInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 16)
    guard let p = bytes.baseAddress else { return out }
    var i = 0
    while i < bytes.count {
        let len = validSequenceLength(p, i, bytes.count)
        if len == 0 {
            out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            i += 1
        } else {
            out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: len))
            i += len
        }
    }
    return out
}
