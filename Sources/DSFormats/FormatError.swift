/// An error in a file we read: names the file, the byte offset when known, and the field.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var offset: Int?
    public var field: String?
    public var message: String

    public init(file: String, offset: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.offset = offset
        self.field = field
        self.message = message
    }

    public var description: String {
        var s = file
        if let offset { s += " at byte \(offset)" }
        if let field { s += " (field \(field))" }
        return s + ": " + message
    }
}
