import DSFormats

/// An error in OpenAI's shape, with its HTTP status.
public struct APIError: Error, Sendable {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(_ status: Int, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    var json: JSONOut {
        .object([("error", .object([("message", .string(message)), ("type", .string(type)),
                                     ("param", param.map { .string($0) } ?? .null), ("code", code.map { .string($0) } ?? .null)]))])
    }
}
