import DSGeneration
import Testing

@Suite struct BlankLineFilterTests {
    /// Streams `pieces` through a filter; returns what is shown and the longest newline run seen.
    func show(_ pieces: [String]) -> (String, Int) {
        var f = BlankLineFilter()
        var out = ""
        var longest = 0
        for p in pieces {
            out += f.feed(p)
            longest = max(longest, f.newlineRun)
        }
        f.finish()
        return (out, longest)
    }

    @Test func collapsesBlankRunsAndTrimsTheEnds() {
        #expect(show(["\n", " Hi", ",", "\n", "\n", "\n", "\n", "  there", "\n\n"]).0 == "Hi,\n\n  there")
        #expect(show(["a\n\nb"]).0 == "a\n\nb")       // one blank line is kept as it is
        #expect(show(["a\n \n\t\nb"]).0 == "a\n\nb")  // whitespace-only lines are blank lines
        #expect(show(["a", " ", "b"]).0 == "a b")
    }

    @Test func reportsTheCurrentNewlineRun() {
        let (shown, longest) = show(["ok"] + Array(repeating: "\n", count: 30))
        #expect(shown == "ok")
        #expect(longest == 30)
    }
}
