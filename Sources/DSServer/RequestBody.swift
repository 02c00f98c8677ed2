import DSFormats

/// Typed access to a request's JSON body; every mistake names the field.
struct RequestBody {
    let object: JSONObject

    init(_ bytes: [UInt8]) throws(APIError) {
        let v: JSONValue
        do { v = try JSONValue.parse(bytes) } catch {
            throw APIError(400, "We could not parse the JSON body of your request: \(error.description)")
        }
        guard let o = v.object else { throw APIError(400, "The request body must be a JSON object.") }
        object = o
    }

    func value(_ key: String) -> JSONValue? {
        guard let v = object[key], !v.isNull else { return nil }
        return v
    }

    func typeError(_ key: String, _ expected: String) -> APIError {
        APIError(400, "Invalid type for '\(key)': expected \(expected).", param: key, code: "invalid_type")
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw typeError(key, "a string") }
        return s
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.int else { throw typeError(key, "an integer") }
        return i
    }

    func double(_ key: String) throws(APIError) -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.double else { throw typeError(key, "a number") }
        return d
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.bool else { throw typeError(key, "a boolean") }
        return b
    }

    /// `stop`: a string or a list of up to 4 strings.
    func stops() throws(APIError) -> [String] {
        guard let v = value("stop") else { return [] }
        if let s = v.string { return [s] }
        guard let a = v.array, a.allSatisfy({ $0.string != nil }) else { throw typeError("stop", "a string or an array of strings") }
        return a.compactMap(\.string).filter { !$0.isEmpty }
    }
}
