import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes `data` to a temporary file in the destination's directory, then rename(2)s it over `path`:
/// readers see the old file or the new one, never half of one. (Foundation's `replaceItemAt` fails on
/// Linux when the destination exists.) Creates the directory if needed. Failures are `WriteError`s: the path and
/// the reason in words.
public func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent()
    try WriteError.explaining(path) { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    do {
        try data.write(to: tmp)
        guard rename(tmp.path, url.path) == 0 else {
            let why = WriteError.posixWords(errno)
            throw WriteError(path: path, reason: WriteError.diagnose(path) ?? "cannot rename the temporary file into place: \(why)")
        }
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw WriteError(path: path, error: error)
    }
}
