import Foundation

/// datatrove's `simplify_text` with its default config, scalar for scalar (see docs/data.md): Python's
/// `lower()` (final sigma included), decimal-digit runs with at most one separator group → "0", datatrove's
/// PUNCTUATION → space, `\s+` → one space and strip, NFD with nonspacing marks dropped, strip.
public enum TextNormalizer {
    /// Python's str.isspace().
    @inline(__always) static func isSpace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    @inline(__always) static func isDecimalDigit(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value >= 0x30 && s.value <= 0x39 }
        return s.properties.generalCategory == .decimalNumber
    }

    static let numberSeparators: Set<UInt32> = [0x2E, 0x2C, 0x60C, 0x66B, 0x2396, 0x2397, 0x2398]

    /// Python's lower(): full case mapping, with Σ → ς at the end of a word (Final_Sigma).
    static func lowercase(_ text: String, into out: inout [Unicode.Scalar]) {
        let scalars = Array(text.unicodeScalars)
        out.reserveCapacity(scalars.count)
        for (i, s) in scalars.enumerated() {
            let v = s.value
            if v < 0x80 {
                out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 32)! : s)
            } else if v == 0x3A3 {
                // Final_Sigma: preceded by a cased letter and not followed by one (case-ignorables skipped).
                func cased(_ j: Int) -> Bool { scalars[j].properties.isCased }
                func ignorable(_ j: Int) -> Bool { scalars[j].properties.isCaseIgnorable }
                var j = i - 1
                while j >= 0 && ignorable(j) { j -= 1 }
                let before = j >= 0 && cased(j)
                var k = i + 1
                while k < scalars.count && ignorable(k) { k += 1 }
                let after = k < scalars.count && cased(k)
                out.append(Unicode.Scalar(before && !after ? 0x3C2 : 0x3C3)!)
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
    }

    public static func simplify(_ text: String) -> String {
        var lower: [Unicode.Scalar] = []
        lowercase(text, into: &lower)
        // Numbers → "0", punctuation → " ", whitespace runs → " " (stripped), in one pass.
        var out = String.UnicodeScalarView()
        var pendingSpace = false, asciiOnly = true
        var i = 0
        let n = lower.count
        func emit(_ s: Unicode.Scalar) {
            if pendingSpace && !out.isEmpty { out.append(" ") }
            pendingSpace = false
            out.append(s)
        }
        while i < n {
            let s = lower[i]
            if isDecimalDigit(s) {
                while i < n && isDecimalDigit(lower[i]) { i += 1 }
                if i + 1 < n && numberSeparators.contains(lower[i].value) && isDecimalDigit(lower[i + 1]) {
                    i += 1
                    while i < n && isDecimalDigit(lower[i]) { i += 1 }
                }
                emit("0")
                continue
            }
            let v = s.value
            if isSpace(v) || DatatroveTables.punctuation.contains(v) {
                pendingSpace = true
            } else {
                if v >= 0x80 { asciiOnly = false }
                emit(s)
            }
            i += 1
        }
        if asciiOnly { return String(out) }
        // NFD, nonspacing marks dropped, strip (a mark-only word can leave an edge space).
        let nfd = String(out).decomposedStringWithCanonicalMapping
        var kept = String.UnicodeScalarView()
        for s in nfd.unicodeScalars where s.properties.generalCategory != .nonspacingMark { kept.append(s) }
        var r = Substring(String(kept))
        while let f = r.unicodeScalars.first, isSpace(f.value) { r = Substring(r.unicodeScalars.dropFirst()) }
        while let l = r.unicodeScalars.last, isSpace(l.value) { r = Substring(r.unicodeScalars.dropLast()) }
        return String(r)
    }
}
