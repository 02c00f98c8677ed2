import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A write that failed, in words: "cannot write /x/y.gguf: not a directory (/x is a file)".
///
/// Foundation's messages on Linux name neither the path nor the cause a user can act on (an output under a
/// missing or unwritable folder reads "The file doesn't exist."), so the reason is worked out from the file
/// system itself first, then from the errno the error carries.
public struct WriteError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// Explains `error`, thrown while writing `path` (an already explained error is kept as it is).
    public init(path: String, error: Error) {
        if let known = error as? WriteError {
            self = known
            return
        }
        self.path = path
        self.reason = Self.diagnose(path) ?? Self.words(for: error)
    }

    public var description: String { "cannot write \(path): \(reason)" }

    /// Runs `body`, turning whatever it throws into a `WriteError` for `path`.
    public static func explaining<R>(_ path: String, _ body: () throws -> R) throws -> R {
        do { return try body() } catch { throw WriteError(path: path, error: error) }
    }

    /// What about the destination stops the write, if anything visible does: a folder on the way that is a
    /// file, a folder that is missing and cannot be made, a folder without write permission, a directory
    /// where the file should be.
    static func diagnose(_ path: String) -> String? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return "it is a directory" }
        var folder = parent(of: path)
        var missing: String?
        while !fm.fileExists(atPath: folder, isDirectory: &isDirectory) {
            missing = folder
            let up = parent(of: folder)
            if up == folder { break }
            folder = up
        }
        if !isDirectory.boolValue { return "not a directory (\(folder) is a file)" }
        if access(folder, W_OK) != 0 {
            let why = errno == EROFS ? "read-only file system" : "permission denied"
            return missing.map { "\(why) (cannot create \($0))" } ?? "\(why) (\(folder))"
        }
        if let missing { return "no such directory (\(missing))" }
        return nil
    }

    static func parent(of path: String) -> String {
        let p = (path as NSString).deletingLastPathComponent
        return p.isEmpty ? "." : p
    }

    /// The errno inside a Foundation error (or a CocoaError code) as the words strerror(3) uses.
    static func words(for error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return posixWords(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return posixWords(Int32(underlying.code))
        }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "no space left on device"
            case .fileWriteVolumeReadOnly: return "read-only file system"
            case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
            case .fileWriteFileExists: return "a file is in the way"
            case .fileWriteInvalidFileName: return "invalid file name"
            default: break
            }
        }
        if let format = error as? FormatError { return format.message }
        return "\(error)"
    }

    static func posixWords(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}
