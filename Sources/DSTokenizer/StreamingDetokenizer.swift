/// Turns a stream of token ids into text without ever emitting part of a UTF-8 sequence.
///
/// A token may end in the middle of a character (byte-level BPE splits multi-byte characters), so
/// incomplete trailing bytes are held back until the next token completes them. Bytes that can
/// never become valid are emitted as U+FFFD at once, so a bad sequence cannot stall the stream.
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    public var skipSpecial: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, skipSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Text completed by this token (possibly empty).
    public mutating func append(_ id: TokenID) throws(TokenizerError) -> String {
        guard id >= 0, Int(id) < tokenizer.vocabularySize else {
            throw .invalidTokenID(id, vocabularySize: tokenizer.vocabularySize)
        }
        if skipSpecial && tokenizer.tokenType(id) == .control { return "" }
        pending.append(contentsOf: tokenizer.tokenBytes(id))
        return drain(final: false)
    }

    /// Whatever is still held back, with incomplete sequences replaced by U+FFFD.
    public mutating func flush() -> String {
        drain(final: true)
    }

    private mutating func drain(final: Bool) -> String {
        var out: [UInt8] = []
        var i = 0
        let n = pending.count
        pending.withUnsafeBufferPointer { buf in
            let p = buf.baseAddress!
            while i < n {
                let len = validSequenceLength(p, i, n)
                if len > 0 {
                    out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: len))
                    i += len
                } else if !final && couldBecomeValid(p + i, n - i) {
                    break  // wait for more bytes
                } else {
                    out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    i += 1
                }
            }
        }
        pending.removeFirst(i)
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `p[0..<n]` is a proper prefix of some valid UTF-8 sequence.
    private func couldBecomeValid(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let b0 = p[0]
        let need: Int
        switch b0 {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return false
        }
        guard n < need else { return false }
        for k in 1..<n {
            let b = p[k]
            guard b & 0xC0 == 0x80 else { return false }
            if k == 1 {
                if b0 == 0xE0 && b < 0xA0 { return false }
                if b0 == 0xED && b >= 0xA0 { return false }
                if b0 == 0xF0 && b < 0x90 { return false }
                if b0 == 0xF4 && b >= 0x90 { return false }
            }
        }
        return true
    }
}
