@testable import DSGeneration
import DSTokenizer
import Foundation
import Testing

/// Runs text through a fresh automaton: nil when some prefix is rejected, else whether the whole is a complete match.
func match(_ g: Grammar, _ text: String) -> Bool? {
    let a = GrammarAutomaton(g)
    var s = a.initialState
    for b in text.utf8 {
        s = a.next(s, b)
        if s < 0 { return nil }
    }
    return a.isAccepting(s)
}

func grammar(_ text: String) throws -> Grammar { try Grammar(gbnf: text) }

func grammarError(_ text: String) -> GrammarError? {
    do { _ = try Grammar(gbnf: text); return nil } catch { return error }
}

@Suite struct GBNFParserTests {
    @Test func literalsAlternativesAndGroups() throws {
        let g = try grammar(#"root ::= "yes" | "no" | ("may" "be")"#)
        #expect(match(g, "yes") == true && match(g, "no") == true && match(g, "maybe") == true)
        #expect(match(g, "ye") == false)   // a prefix: still alive, not complete
        #expect(match(g, "yess") == nil && match(g, "x") == nil)
    }

    @Test func repetitionOperators() throws {
        let g = try grammar(#"root ::= "a"* "b"+ "c"? "d"{2} "e"{1,3} "f"{2,} "g"{,1}"#)
        #expect(match(g, "bddeff") == true)
        #expect(match(g, "aaabbbcddeeeffffg") == true)
        #expect(match(g, "bddeeeeff") == nil)     // e at most 3
        #expect(match(g, "bddef") == false)       // f at least 2: incomplete
        #expect(match(g, "ddeff") == nil)         // b at least once
        #expect(match(g, "bddeffgg") == nil)
    }

    @Test func characterClassesAndEscapes() throws {
        let g = try grammar(#"""
            # a comment line
            root ::= [a-z]+ [^"\\]* "\x41\u00e9\t" [\[\]] tail   # trailing comment
            tail ::= .
            """#)
        #expect(match(g, "abc+-Aé\t[\u{1F600}") == true)
        #expect(match(g, "abc\"Aé\t[x") == nil)
        #expect(match(g, "Abc") == nil)
    }

    @Test func multiByteCharactersMatchAsCodePoints() throws {
        let g = try grammar(#"root ::= [α-ω]{2} "€" [\U0001F600-\U0001F64F]"#)
        #expect(match(g, "βγ€😀") == true)
        #expect(match(g, "βγ€") == false)
        #expect(match(g, "βa") == nil)
        // A lead byte no allowed character starts with is rejected at once, not after the sequence completes.
        let a = GrammarAutomaton(g)
        #expect(a.next(a.initialState, 0xE2) == GrammarAutomaton.dead)   // U+2000…U+2FFF: no Greek letter there
        #expect(a.next(a.initialState, 0xCE) >= 0)                      // U+0380…U+03BF: α-ο are there
    }

    @Test func rulesRecursionAndContinuationLines() throws {
        let g = try grammar(#"""
            root  ::= list
            list  ::= "[" ( item ( "," item )* )? "]"
            item  ::= [0-9]+
                    | list
            """#)
        #expect(match(g, "[1,[2,[3]],[]]") == true)
        #expect(match(g, "[1,]") == nil)
        let g2 = try grammar("root ::= \"a\"\n   | \"b\"\n")
        #expect(match(g2, "b") == true)
    }

    @Test func emptyAlternativeAndNullableStarInsideRightRecursion() throws {
        let g = try grammar("root ::= \"<\" x \">\"\nx ::= \"a\" x |")
        #expect(match(g, "<aaa>") == true && match(g, "<>") == true)
    }

    @Test func errorsNameLineColumnAndProblem() {
        let undefined = grammarError("root ::= item\nitem ::= \"x\" other")
        #expect(undefined?.description == "grammar line 2, column 14: undefined rule 'other'")
        let badEscape = grammarError(#"root ::= "a\q""#)
        #expect(badEscape?.line == 1 && badEscape?.column == 12 && badEscape!.message.contains("unknown escape '\\q'"))
        #expect(grammarError(#"item ::= "x""#)?.message.contains("no 'root' rule") == true)
        let left = grammarError("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]")
        #expect(left?.description == "grammar line 2, column 1: left recursion: 'expr' → 'expr' (rewrite it with right recursion or a repetition)")
        #expect(grammarError(#"root ::= ("a"?)*"#)?.message.contains("repeats something that can match the empty string") == true)
        #expect(grammarError(#"root ::= "abc"#)?.message == "unterminated string literal")
        #expect(grammarError(#"root ::= [a-"#)?.message == "unterminated character class")
        #expect(grammarError(#"root ::= "a"{3,2}"#)?.message.contains("maximum is below the minimum") == true)
        #expect(grammarError(#"root ::= * "a""#)?.message == "'*' has nothing before it to repeat")
        #expect(grammarError(#"root ::= ("a" "b""#)?.message.contains("expected ')'") == true)
        #expect(grammarError("root ::= \"a\"\nroot ::= \"b\"")?.description == "grammar line 2, column 1: rule 'root' is defined twice (first on line 1)")
        #expect(grammarError(#"root ::= "\x4""#)?.message.contains("2 hexadecimal digits") == true)
        #expect(grammarError(#"root ::= "a" root"#)?.message.contains("can never be completed") == true)
        #expect(grammarError("root ::= <think>")?.message.contains("token references") == true)
    }
}
