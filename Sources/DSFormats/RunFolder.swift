import Foundation

/// The rule every command that writes a run folder follows (`train`, `sft`, `dpo`, the `data` stages,
/// `scaling sweep`): a folder that already holds files is someone's earlier work, so it is only touched when the
/// user said how — `--resume` continues it, `--overwrite` replaces it (its files removed first). Without either,
/// the command stops before writing anything, and the earlier run stays byte for byte as it was.
public enum RunFolder {
    /// What the user asked for an existing folder.
    public enum Intent: Sendable, Equatable {
        case fresh, resume, overwrite
    }

    public struct Refusal: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The intent from the two flags (both given is an error).
    public static func intent(resume: Bool, overwrite: Bool) throws(Refusal) -> Intent {
        if resume && overwrite { throw Refusal("give --resume (continue the run) or --overwrite (replace it), not both") }
        return resume ? .resume : overwrite ? .overwrite : .fresh
    }

    /// Makes `path` ready for `intent`: creates it when missing; refuses a non-empty folder on `.fresh`; empties it
    /// on `.overwrite`; leaves it as it is on `.resume` (whether there is anything to resume is the caller's check).
    /// `resumable` is false for commands that cannot continue a run (the message then names only --overwrite).
    /// `dryRun` only checks (commands call it first, before any long work, and again for real before writing).
    public static func prepare(_ path: String, intent: Intent, resumable: Bool = true, dryRun: Bool = false) throws(Refusal) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw Refusal("\(path) is a file, not a run folder") }
            let entries = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
            if !entries.isEmpty {
                switch intent {
                case .resume:
                    return
                case .fresh:
                    let shown = entries.prefix(4).joined(separator: ", ") + (entries.count > 4 ? ", …" : "")
                    let how = resumable
                        ? "give --resume to continue it, or --overwrite to replace it (its files are removed first)"
                        : "give --overwrite to replace it (its files are removed first), or another --out"
                    throw Refusal("\(path) already holds a run (\(entries.count) entries: \(shown)); \(how)")
                case .overwrite:
                    try checkSafeToEmpty(path)
                    if dryRun { return }
                    for e in entries {
                        let p = (path as NSString).appendingPathComponent(e)
                        do { try fm.removeItem(atPath: p) } catch {
                            throw Refusal("--overwrite: cannot remove \(p): \(WriteError.words(for: error))")
                        }
                    }
                    return
                }
            }
            return
        }
        if dryRun { return }
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw Refusal(WriteError(path: path, error: error).description)
        }
    }

    /// `--overwrite` empties folders, so it refuses the ones that are plainly not a run: the file system root, the
    /// home folder, the working directory or one above it, and a source checkout (a `.git` inside).
    static func checkSafeToEmpty(_ path: String) throws(Refusal) {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).resolvingSymlinksInPath().standardizedFileURL.path
        let home = URL(fileURLWithPath: NSHomeDirectory()).resolvingSymlinksInPath().standardizedFileURL.path
        let isAncestorOfCwd = cwd == real || cwd.hasPrefix(real.hasSuffix("/") ? real : real + "/")
        if real == "/" || real == home || isAncestorOfCwd
            || FileManager.default.fileExists(atPath: (real as NSString).appendingPathComponent(".git")) {
            throw Refusal("--overwrite will not empty \(path) (\(real)): it is not a run folder; give a folder of its own")
        }
    }
}
