// A strict RFC 8259 JSON parser, shared by the safetensors header reader and the passport config reader.
//
// Our own rather than JSONSerialization: it keeps `true` apart from `1` (Foundation's NSNumber does not
// on every platform), keeps object members in file order and number literals as written (so callers can
// check exact integers), validates UTF-8, rejects duplicate keys (Python's json module keeps the last one
// silently), limits nesting, and reports syntax errors with a byte offset, line and column.

/// A parsed JSON value; objects keep their members in file order and numbers their literal text.
public enum JSONValue: Equatable, Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number exactly as written, e.g. `-0`, `1.50` or `2e3`.
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x), .array(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    /// What was found, for messages: `string "F32"`, `number 1.5`, `an array of 3 elements`, `null`.
    public var summary: String {
        switch self {
        case .object(let members): "an object of \(members.count) member\(members.count == 1 ? "" : "s")"
        case .array(let items): "an array of \(items.count) element\(items.count == 1 ? "" : "s")"
        case .string(let text): text.count > 40 ? "string \"\(text.prefix(40))…\"" : "string \"\(text)\""
        case .number(let text): "number \(text)"
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        }
    }

    /// Parses one whole document: optional whitespace, one value, optional whitespace (padding), nothing else.
    /// A leading UTF-8 byte-order mark is skipped only when `allowsByteOrderMark`; duplicate keys in an
    /// object are rejected unless `allowsDuplicateKeys` (for callers that report them in their own words).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = 64,
                             allowsByteOrderMark: Bool = false,
                             allowsDuplicateKeys: Bool = false) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth, allowsDuplicateKeys: allowsDuplicateKeys)
        if allowsByteOrderMark, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.position = 3 }
        try parser.checkUTF8()
        return try parser.document()
    }

    /// Parses one whole document held in an array (see the buffer overload).
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 64, allowsByteOrderMark: Bool = false,
                             allowsDuplicateKeys: Bool = false) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in
                try parse(buffer, maximumDepth: maximumDepth, allowsByteOrderMark: allowsByteOrderMark,
                          allowsDuplicateKeys: allowsDuplicateKeys)
            }
        }.get()
    }
}

/// Where a document stops being valid JSON and what was expected there.
public struct JSONSyntaxError: Error, Equatable, Sendable {
    /// Byte offset within the parsed bytes.
    public var offset: Int
    /// 1-based line (lines end at `\n`).
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int
    /// What was expected and what was found, e.g. `expected ':' after key "a" but found '}'`.
    public var reason: String

    /// Creates an error at an explicit position.
    public init(offset: Int, line: Int, column: Int, reason: String) {
        self.offset = offset
        self.line = line
        self.column = column
        self.reason = reason
    }
}

/// The recursive-descent reader behind `JSONValue.parse`.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    let allowsDuplicateKeys: Bool
    var position = 0
    var depth = 0
    /// Where the last number ended if it was a lone `0` or `-0`, to explain a following digit.
    var zeroEnd = -1

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int, allowsDuplicateKeys: Bool) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.allowsDuplicateKeys = allowsDuplicateKeys
    }

    // MARK: Errors

    func failure(_ reason: String, at offset: Int? = nil) -> JSONSyntaxError {
        let offset = offset ?? position
        var line = 1, column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return JSONSyntaxError(offset: offset, line: line, column: column, reason: reason)
    }

    /// The next byte for messages, or "the end of the file".
    var found: String {
        guard let byte = peek else { return "the end of the file" }
        let text = (0x21...0x7E).contains(byte)
            ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
        return position == zeroEnd && isDigit(byte) ? text + " (a number may not have a leading zero)" : text
    }

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    func isDigit(_ byte: UInt8?) -> Bool { byte.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false }

    // MARK: Structure

    func checkUTF8() throws(JSONSyntaxError) {
        if String(validating: bytes, as: UTF8.self) != nil { return }
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return
            case .error(let length):
                throw failure("expected UTF-8 text but found an invalid byte sequence of length \(length)", at: offset)
            }
        }
    }

    mutating func document() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw failure("expected a JSON object but the file is empty or blank") }
        let value = try self.value()
        skipWhitespace()
        guard position == bytes.count else {
            throw failure("expected the end of the file after the top-level value but found \(found) "
                          + "(only whitespace padding may follow it)")
        }
        return value
    }

    mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    mutating func value() throws(JSONSyntaxError) -> JSONValue {
        switch peek {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case let byte? where byte == UInt8(ascii: "-") || isDigit(byte): return try number()
        default: throw failure("expected a value (object, array, string, number, true, false or null) but found \(found)")
        }
    }

    mutating func nest() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= maximumDepth else { throw failure("expected at most \(maximumDepth) levels of nesting but found more") }
    }

    mutating func object() throws(JSONSyntaxError) -> JSONValue {
        try nest()
        defer { depth -= 1 }
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            let keyOffset = position
            guard peek == UInt8(ascii: "\"") else { throw failure("expected a quoted key but found \(found)") }
            let key = try string()
            if !allowsDuplicateKeys, !keys.insert(key).inserted {
                throw failure("duplicate key \"\(key)\" in one object", at: keyOffset)
            }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw failure("expected ':' after key \"\(key)\" but found \(found)") }
            position += 1
            skipWhitespace()
            members.append((key: key, value: try value()))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw failure("expected ',' or '}' after the value of key \"\(key)\" but found \(found)")
            }
        }
    }

    mutating func array() throws(JSONSyntaxError) -> JSONValue {
        try nest()
        defer { depth -= 1 }
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(items)
            default: throw failure("expected ',' or ']' in an array but found \(found)")
            }
        }
    }

    mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let expected = Array(word.utf8)
        guard bytes[position...].starts(with: expected) else { throw failure("expected '\(word)' but found \(found)") }
        position += expected.count
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as written.
    mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        func digits(_ parser: inout JSONParser, after what: String) throws(JSONSyntaxError) {
            guard parser.isDigit(parser.peek) else { throw parser.failure("expected a digit \(what) but found \(parser.found)") }
            while parser.isDigit(parser.peek) { parser.position += 1 }
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
            zeroEnd = position
        } else {
            try digits(&self, after: "in a number")
        }
        if peek == UInt8(ascii: ".") { position += 1; try digits(&self, after: "after '.'") }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            try digits(&self, after: "in an exponent")
        }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    mutating func string() throws(JSONSyntaxError) -> String {
        position += 1   // opening quote
        var unescaped: [UInt8] = []
        var hadEscape = false
        var run = position   // start of the current run of unescaped bytes
        while let byte = peek {
            switch byte {
            case UInt8(ascii: "\""):
                let tail = UnsafeBufferPointer(rebasing: bytes[run..<position])
                position += 1
                if !hadEscape { return String(decoding: tail, as: UTF8.self) }
                unescaped.append(contentsOf: tail)
                return String(decoding: unescaped, as: UTF8.self)
            case UInt8(ascii: "\\"):
                hadEscape = true
                unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<position]))
                position += 1
                UTF8.encode(try escape()) { unescaped.append($0) }
                run = position
            case 0..<0x20:
                throw failure("expected a control character inside a string to be escaped but found \(found)")
            default:
                position += 1
            }
        }
        throw failure("expected a closing '\"' but found the end of the file")
    }

    /// One escape after the backslash; `\u` escapes combine surrogate pairs.
    mutating func escape() throws(JSONSyntaxError) -> Unicode.Scalar {
        guard let byte = peek else { throw failure("expected an escape character after '\\' but found the end of the file") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let start = position - 2
            let unit = try hex4()
            if (0xD800..<0xDC00).contains(unit) {
                let lowMissing = "expected a low surrogate '\\uDC00'...'\\uDFFF' after the high surrogate"
                guard bytes[position...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) else {
                    throw failure(lowMissing, at: start)
                }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure(lowMissing, at: start) }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(unit) else {
                throw failure("expected a character but found a lone low surrogate", at: start)
            }
            return scalar
        default:
            position -= 1
            throw failure("expected an escape (one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u) after '\\' but found \(found)")
        }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek, let digit = Self.hexValue(byte) else {
                throw failure("expected 4 hex digits after '\\u' but found \(found)")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
