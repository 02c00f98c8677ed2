import DSFormats
import Foundation
import Testing

@Suite struct RunFolderRuleTests {
    func temp(_ name: String) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-rf-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: d)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func freshOverwriteAndResume() throws {
        let d = try temp("rule")
        defer { try? FileManager.default.removeItem(atPath: d) }
        let run = d + "/run"
        try RunFolder.prepare(run, intent: .fresh)  // missing: created
        #expect(FileManager.default.fileExists(atPath: run))
        try RunFolder.prepare(run, intent: .fresh)  // empty: fine
        try Data("x".utf8).write(to: URL(fileURLWithPath: run + "/metrics.jsonl"))
        #expect(throws: RunFolder.Refusal.self) { try RunFolder.prepare(run, intent: .fresh) }
        try RunFolder.prepare(run, intent: .overwrite, dryRun: true)
        #expect(FileManager.default.fileExists(atPath: run + "/metrics.jsonl"), "a dry run removes nothing")
        try RunFolder.prepare(run, intent: .resume)
        #expect(FileManager.default.fileExists(atPath: run + "/metrics.jsonl"))
        try RunFolder.prepare(run, intent: .overwrite)
        #expect(try FileManager.default.contentsOfDirectory(atPath: run).isEmpty)
        #expect(throws: RunFolder.Refusal.self) { _ = try RunFolder.intent(resume: true, overwrite: true) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: d + "/file"))
        #expect(throws: RunFolder.Refusal.self) { try RunFolder.prepare(d + "/file", intent: .overwrite) }
    }

    @Test func overwriteNeverEmptiesACheckoutOrTheWorkingFolder() throws {
        let d = try temp("safe")
        defer { try? FileManager.default.removeItem(atPath: d) }
        try FileManager.default.createDirectory(atPath: d + "/repo/.git", withIntermediateDirectories: true)
        #expect(throws: RunFolder.Refusal.self) { try RunFolder.prepare(d + "/repo", intent: .overwrite) }
        #expect(FileManager.default.fileExists(atPath: d + "/repo/.git"))
        let cwd = FileManager.default.currentDirectoryPath
        #expect(throws: RunFolder.Refusal.self) { try RunFolder.prepare(cwd, intent: .overwrite, dryRun: true) }
        #expect(throws: RunFolder.Refusal.self) { try RunFolder.prepare("/", intent: .overwrite, dryRun: true) }
    }
}
