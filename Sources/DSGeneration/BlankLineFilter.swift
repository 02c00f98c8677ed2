/// Streams a reply for display with its whitespace tidied: leading whitespace dropped, a run of blank lines shown
/// as one, trailing whitespace dropped. Small models fall into emitting nothing but newlines (a reply of thirty
/// empty lines); held-back whitespace is only shown once visible text follows it, and `newlineRun` tells the
/// caller how long the current run is so it can stop generating.
public struct BlankLineFilter: Sendable {
    /// Whitespace since the last visible character, not shown yet.
    private var held = ""
    private var started = false
    /// Newlines in the held whitespace: how many line breaks in a row the model has just produced.
    public private(set) var newlineRun = 0

    public init() {}

    /// Adds streamed text; returns what may be shown now.
    public mutating func feed(_ text: String) -> String {
        var out = ""
        for ch in text {
            if ch.isWhitespace {
                held.append(ch)
                if ch.isNewline { newlineRun += 1 }
                continue
            }
            if started { out += collapsed() }
            held = ""
            newlineRun = 0
            started = true
            out.append(ch)
        }
        return out
    }

    /// The end of the reply: trailing whitespace is not shown.
    public mutating func finish() {
        held = ""
        newlineRun = 0
    }

    /// The held whitespace with at most one blank line: two line breaks, then the indentation of the last line.
    private func collapsed() -> String {
        guard newlineRun > 2 else { return held }
        let indentation = held.reversed().prefix { !$0.isNewline }
        return "\n\n" + String(indentation.reversed())
    }
}
