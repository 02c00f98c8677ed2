#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file.
///
/// Weights and vocabularies are mapped, never read into the heap: `Data(contentsOf:options:.mappedIfSafe)`
/// copies the whole file on Linux, so we call mmap(2) directly.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let base: UnsafeMutableRawPointer?

    public init(path: String) throws(FormatError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw FormatError(file: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw FormatError(file: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(file: path, message: "not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw FormatError(file: path, message: "cannot mmap: \(String(cString: strerror(errno)))")
        }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// The mapped bytes. Valid as long as this object is alive.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }
}
