import DSTensor
import DSTokenizer

/// Tasks that ship with dsllm, generated from a fixed seed (no data files, nothing to license): small checks of
/// arithmetic, in-context copying and chat behaviour in lm-eval's task shapes. `dsllm eval --export DIR` writes
/// them out as task files and as lm-evaluation-harness YAML.
extension EvaluationTask {
    public static let builtinNames = ["arithmetic-mc", "arithmetic-gsm", "copy-mc", "chat-repetition"]

    public static func builtin(_ name: String) -> EvaluationTask? {
        var rng = SplitMix64(seed: 0x5EED_0000 &+ UInt64(builtinNames.firstIndex(of: name) ?? 0))
        switch name {
        case "arithmetic-mc":
            // "What is 17 plus 25?" with the answer and three near misses, in a seeded order.
            var t = EvaluationTask(name: name, kind: .multipleChoice)
            for i in 0..<200 {
                let a = rng.int(1...49), b = rng.int(1...49)
                let (word, value) = [("plus", a + b), ("minus", a - b), ("times", a * b)][i % 3]
                var choices = [value]
                for d in [1, -1, 10, -10, 2, 11].shuffled(using: &rng) where choices.count < 4 && !choices.contains(value + d) {
                    choices.append(value + d)
                }
                choices.shuffle(using: &rng)
                t.questions.append(Question(context: "Question: What is \(a) \(word) \(b)?\nAnswer:", choices: choices.map(String.init),
                                            gold: choices.firstIndex(of: value)!, line: i + 1))
            }
            return t
        case "arithmetic-gsm":
            // GSM8K's shape: a worked answer ending in "#### n", strict-match extraction, GSM8K's exact_match options.
            var t = EvaluationTask(name: name, kind: .generateUntil)
            t.shots = 3
            t.until = ["Question:", "\n\n"]
            t.maxGenTokens = 48
            t.filter = AnswerFilter(regex: "#### (\\-?[0-9\\.\\,]+)", select: 0, fallback: "[invalid]")
            t.regexesToIgnore = [",", "\\$", "(?s).*#### ", "\\.$"]
            let names = ["Ann", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jane"]
            let things = ["apples", "books", "coins", "pens", "shells", "stamps", "cards", "eggs"]
            for i in 0..<150 {
                let who = names[rng.int(0...names.count - 1)], what = things[rng.int(0...things.count - 1)]
                let a = rng.int(2...30), b = rng.int(1...a - 1)
                let (story, work, value) = i % 2 == 0
                    ? ("\(who) has \(a) \(what) and gets \(b) more. How many \(what) does \(who) have now?", "\(a) + \(b) = \(a + b)", a + b)
                    : ("\(who) has \(a) \(what) and gives away \(b). How many \(what) does \(who) have left?", "\(a) - \(b) = \(a - b)", a - b)
                t.questions.append(Question(context: "Question: \(story)\nAnswer:", target: "\(work).\n#### \(value)", line: i + 1))
            }
            return t
        case "copy-mc":
            // In-context copying (an induction head's job): a list of words, then its start again; which word is next?
            var t = EvaluationTask(name: name, kind: .multipleChoice)
            let words = ["river", "stone", "candle", "garden", "window", "horse", "silver", "letter", "forest", "bread",
                         "ship", "tower", "winter", "music", "paper", "cloud", "mirror", "field", "lamp", "coat"]
            for i in 0..<200 {
                let list = Array(words.shuffled(using: &rng).prefix(8))
                let k = rng.int(2...6)
                let context = list.joined(separator: " ") + "\n" + list[..<k].joined(separator: " ")
                var choices = [list[k]] + list.filter { $0 != list[k] }.shuffled(using: &rng).prefix(3)
                choices.shuffle(using: &rng)
                t.questions.append(Question(context: context, choices: choices, gold: choices.firstIndex(of: list[k])!, line: i + 1))
            }
            return t
        case "chat-repetition":
            var t = EvaluationTask(name: name, kind: .repetition)
            t.maxGenTokens = 128
            let prompts = ["Hello", "Hi, how are you?", "What is your name?", "Do you like music?", "What is AI?",
                           "Tell me a joke.", "What do you do?", "Are you a robot?", "What is the weather like?",
                           "Good morning!", "Can you help me?", "What is your favourite book?", "Do you sleep?",
                           "Where do you live?", "What time is it?", "Who made you?", "Do you have feelings?",
                           "What is a computer?", "Tell me about yourself.", "What is love?", "Are you smart?",
                           "What can you do?", "Do you like poetry?", "What is the meaning of life?", "Goodbye!",
                           "What is Python?", "Can you sing?", "What are you thinking about?", "Do you know Shakespeare?",
                           "What is your favourite colour?", "How old are you?", "Thank you."]
            for (i, p) in prompts.enumerated() {
                var q = Question(context: "", line: i + 1)
                q.messages = [ChatMessage(role: .user, content: p)]
                t.questions.append(q)
            }
            return t
        default:
            return nil
        }
    }
}

// The built-in tasks draw from SplitMix64 so they are the same on every machine and Swift version (the standard
// generator is not seeded).
extension SplitMix64 {
    /// A number in `r` (next() modulo its size: the bias is negligible for these small ranges).
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
}
