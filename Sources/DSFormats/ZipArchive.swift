/// One member of a zip archive: where its bytes lie in the mapped file.
public struct ZipMember: Sendable, Equatable {
    public var name: String
    /// Bytes of data. Members are stored, so this is both the compressed and the uncompressed size.
    public var size: Int
    /// The CRC-32 the central directory records (checked only by `ZipArchive.verifyChecksum`).
    public var crc32: UInt32
    /// Where the member's local header starts.
    public var localHeaderOffset: Int
    /// Where its data starts: local header + 30 + name length + extra length, read from the LOCAL header (writers
    /// such as torch.save pad the local extra field to align data, and that padding is not in the central directory).
    public var dataOffset: Int
    public var dataRange: Range<Int> { dataOffset..<dataOffset + size }
}

/// A zip archive read in place from a memory map: the container of `torch.save` checkpoints.
///
/// Accepted: a single-disk archive with an end-of-central-directory record (a trailing comment is allowed), zip64
/// records (end-of-central-directory record and locator, and the zip64 extra field of each entry: multi-GB shards
/// need them), and members that are STORED (method 0) and not encrypted. Anything else is refused when the archive
/// is opened, so every member's data can afterwards be handed out as a pointer into the map without a copy:
/// a compressed member would have to be inflated into memory, and torch never writes one. Every offset and size
/// is checked against the file before it is used; an error names the member (field) and the byte offset.
public final class ZipArchive: @unchecked Sendable {
    public let file: MappedFile
    /// Members in central-directory order.
    public let members: [ZipMember]
    /// True when the archive has zip64 end records.
    public let isZip64: Bool
    private let index: [String: Int]

    public var path: String { file.path }

    public convenience init(path: String) throws(FormatError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(FormatError) {
        self.file = file
        let b = file.bytes
        let n = b.count
        func fail(_ message: String, field: String? = nil, offset: Int? = nil) -> FormatError {
            FormatError(file: file.path, offset: offset, field: field, message: message)
        }
        // End of central directory: 22 bytes + a comment of at most 65535 bytes, so it starts in the last 65557.
        guard n >= 22 else { throw fail("\(n) bytes is too short for a zip archive (no end-of-central-directory record)", offset: 0) }
        var eocd = -1
        var p = n - 22
        let lowest = max(0, n - 22 - 0xFFFF)
        while p >= lowest {
            if zipU32(b, p) == 0x0605_4B50, p + 22 + Int(zipU16(b, p + 20)) <= n { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("no zip end-of-central-directory record (not a zip archive, or truncated)") }
        var disk = UInt64(zipU16(b, eocd + 4)), cdDisk = UInt64(zipU16(b, eocd + 6))
        var entriesOnDisk = UInt64(zipU16(b, eocd + 8)), entries = UInt64(zipU16(b, eocd + 10))
        var cdSize = UInt64(zipU32(b, eocd + 12)), cdOffset = UInt64(zipU32(b, eocd + 16))
        var recordsStart = eocd  // the central directory must end before the end records
        var zip64 = false
        if eocd >= 20, zipU32(b, eocd - 20) == 0x0706_4B50 {
            // zip64 locator: signature, disk with the zip64 record, the record's offset, disk count.
            let r64 = zipU64(b, eocd - 20 + 8)
            guard eocd - 20 >= 56, r64 <= UInt64(eocd - 20 - 56) else {
                throw fail("zip64 end-of-central-directory offset \(r64) is outside the file", field: "zip64 locator", offset: eocd - 20)
            }
            let r = Int(r64)
            guard zipU32(b, r) == 0x0606_4B50 else {
                throw fail("no zip64 end-of-central-directory record where the locator points", field: "zip64 record", offset: r)
            }
            disk = UInt64(zipU32(b, r + 16))
            cdDisk = UInt64(zipU32(b, r + 20))
            entriesOnDisk = zipU64(b, r + 24)
            entries = zipU64(b, r + 32)
            cdSize = zipU64(b, r + 40)
            cdOffset = zipU64(b, r + 48)
            recordsStart = r
            zip64 = true
        } else if entries == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw fail("end-of-central-directory record defers to zip64 but there is no zip64 locator", offset: eocd)
        }
        guard disk == 0, cdDisk == 0, entriesOnDisk == entries else {
            throw fail("multi-disk (split) zip archives are not supported", offset: eocd)
        }
        guard cdOffset <= UInt64(recordsStart), cdSize <= UInt64(recordsStart) - cdOffset else {
            throw fail("central directory (offset \(cdOffset), \(cdSize) bytes) runs past the end records", offset: eocd)
        }
        // Each entry takes at least 46 bytes: an absurd count fails here instead of driving the loop.
        guard entries <= cdSize / 46 else {
            throw fail("\(entries) entries cannot fit in a \(cdSize)-byte central directory", offset: eocd)
        }
        let cdEnd = Int(cdOffset + cdSize)
        var members: [ZipMember] = []
        var index: [String: Int] = [:]
        p = Int(cdOffset)
        for i in 0..<Int(entries) {
            guard p + 46 <= cdEnd, zipU32(b, p) == 0x0201_4B50 else {
                throw fail("central directory entry \(i) is missing or truncated", offset: p)
            }
            let flags = zipU16(b, p + 8), method = zipU16(b, p + 10)
            let nameLength = Int(zipU16(b, p + 28)), extraLength = Int(zipU16(b, p + 30)), commentLength = Int(zipU16(b, p + 32))
            guard p + 46 + nameLength + extraLength + commentLength <= cdEnd else {
                throw fail("central directory entry \(i) runs past the directory's end", offset: p)
            }
            guard let name = String(validating: UnsafeRawBufferPointer(rebasing: b[p + 46..<p + 46 + nameLength]), as: UTF8.self) else {
                throw fail("member name of entry \(i) is not UTF-8", offset: p + 46)
            }
            var compressed = UInt64(zipU32(b, p + 20)), size = UInt64(zipU32(b, p + 24))
            var local = UInt64(zipU32(b, p + 42)), startDisk = UInt64(zipU16(b, p + 34))
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local == 0xFFFF_FFFF || startDisk == 0xFFFF {
                // The zip64 extra field (id 1) holds, in this order, only the values whose 32-bit fields are maxed.
                var e = p + 46 + nameLength
                let extraEnd = e + extraLength
                var found = false
                while e + 4 <= extraEnd {
                    let id = zipU16(b, e), length = Int(zipU16(b, e + 2))
                    guard e + 4 + length <= extraEnd else { break }
                    if id == 1 {
                        var q = e + 4
                        let end = q + length
                        func next(_ width: Int) throws(FormatError) -> UInt64 {
                            guard q + width <= end else {
                                throw fail("zip64 extra field is too short", field: name, offset: e)
                            }
                            defer { q += width }
                            return width == 8 ? zipU64(b, q) : UInt64(zipU32(b, q))
                        }
                        if size == 0xFFFF_FFFF { size = try next(8) }
                        if compressed == 0xFFFF_FFFF { compressed = try next(8) }
                        if local == 0xFFFF_FFFF { local = try next(8) }
                        if startDisk == 0xFFFF { startDisk = try next(4) }
                        found = true
                        break
                    }
                    e += 4 + length
                }
                guard found else { throw fail("sizes or offset defer to zip64 but the entry has no zip64 extra field", field: name, offset: p) }
            }
            guard startDisk == 0 else { throw fail("member lies on another disk of a split archive", field: name, offset: p) }
            guard method == 0 else {
                throw fail("member is compressed (method \(method)\(method == 8 ? ", deflate" : "")); only stored members can be "
                           + "read in place, and torch.save stores every member", field: name, offset: p)
            }
            guard flags & 1 == 0 else { throw fail("member is encrypted", field: name, offset: p) }
            guard compressed == size else {
                throw fail("stored member's compressed size \(compressed) differs from its size \(size)", field: name, offset: p)
            }
            guard n >= 30, local <= UInt64(n - 30) else {
                throw fail("local header offset \(local) is past the end of the file (\(n) bytes)", field: name, offset: p)
            }
            let l = Int(local)
            guard zipU32(b, l) == 0x0403_4B50 else { throw fail("no local header at offset \(l)", field: name, offset: l) }
            let localNameLength = Int(zipU16(b, l + 26)), localExtraLength = Int(zipU16(b, l + 28))
            let dataOffset = l + 30 + localNameLength + localExtraLength
            guard dataOffset <= n, size <= UInt64(n - dataOffset) else {
                throw fail("data (\(size) bytes at offset \(dataOffset)) runs past the end of the file (\(n) bytes)", field: name, offset: l)
            }
            guard localNameLength == nameLength,
                  memcmpEqual(b, l + 30, p + 46, nameLength) else {
                throw fail("local header names a different member", field: name, offset: l)
            }
            guard index[name] == nil else { throw fail("member appears twice in the central directory", field: name, offset: p) }
            index[name] = members.count
            members.append(ZipMember(name: name, size: Int(size), crc32: zipU32(b, p + 16), localHeaderOffset: l, dataOffset: dataOffset))
            p += 46 + nameLength + extraLength + commentLength
        }
        self.members = members
        self.index = index
        self.isZip64 = zip64
    }

    public subscript(name: String) -> ZipMember? { index[name].map { members[$0] } }

    /// A member's bytes, mapped (no copy). Its range was checked when the archive was opened.
    public func data(of member: ZipMember) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[member.dataRange])
    }

    /// Recomputes a member's CRC-32 and compares it with the central directory's. Reads every byte, so opening an
    /// archive does not do it (a 10 GB shard would be paged in); call it for small members or a full check.
    public func verifyChecksum(of member: ZipMember) throws(FormatError) {
        let crc = ZipArchive.crc32(data(of: member))
        guard crc == member.crc32 else {
            throw FormatError(file: path, offset: member.dataOffset, field: member.name,
                              message: "CRC-32 \(String(crc, radix: 16)) differs from the recorded \(String(member.crc32, radix: 16))")
        }
    }

    private static let crcTable: [UInt32] = (0..<256).map { (i: UInt32) -> UInt32 in
        var c = i
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The zip CRC-32 (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), continuing from `crc`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        crcTable.withUnsafeBufferPointer { t in
            for byte in bytes { c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}

// Little-endian loads at offsets the callers have bounds-checked.
@inline(__always) func zipU16(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
    UInt16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
}
@inline(__always) func zipU32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
    UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self))
}
@inline(__always) func zipU64(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt64 {
    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self))
}

private func memcmpEqual(_ b: UnsafeRawBufferPointer, _ x: Int, _ y: Int, _ count: Int) -> Bool {
    for i in 0..<count where b[x + i] != b[y + i] { return false }
    return true
}
