// A small strict JSON reader for passport configs.
//
// Our own parser rather than JSONSerialization: it keeps `true` apart from `1` (Foundation's NSNumber
// does not on every platform), keeps object members in file order, rejects duplicate keys (Python's
// json module keeps the last one silently), and reports syntax errors with a byte offset, line and
// column.

/// A parsed JSON value; objects keep their members in file order.
enum ConfigJSON: Equatable {
    case object([(key: String, value: ConfigJSON)])
    case array([ConfigJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    static func == (a: ConfigJSON, b: ConfigJSON) -> Bool {
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

    /// What was found, for messages: `number 1`, `null`, `an array of 2 elements`, `string "abc"`.
    var summary: String {
        switch self {
        case .object(let members): "an object of \(members.count) member\(members.count == 1 ? "" : "s")"
        case .array(let items): "an array of \(items.count) element\(items.count == 1 ? "" : "s")"
        case .string(let text): "string \(Signature.quoted(text))"
        case .number(let text): "number \(text)"
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        }
    }

    /// Parses a whole document: UTF-8 (an optional byte-order mark is skipped), one value, whitespace.
    /// Errors are `.invalidConfig` naming `source`, the byte offset, line and column.
    static func parse(_ bytes: [UInt8], source: String) throws -> ConfigJSON {
        var reader = Reader(bytes: bytes, source: source)
        try reader.checkUTF8()
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        let source: String
        var position = 0
        var depth = 0
        static let maximumDepth = 64

        init(bytes: [UInt8], source: String) {
            self.bytes = bytes
            self.source = source
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        }

        // MARK: Errors

        func failure(_ what: String, at offset: Int? = nil) -> IPRPassportError {
            let offset = offset ?? position
            var line = 1, column = 1
            for byte in bytes[..<min(offset, bytes.count)] {
                if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
            }
            return IPRPassportError(.invalidConfig,
                                    "\(source): not valid JSON at byte offset \(offset) (line \(line), column \(column)): \(what)")
        }

        /// The next byte for messages, or "the end of the file".
        var found: String {
            guard position < bytes.count else { return "the end of the file" }
            let byte = bytes[position]
            if (0x21...0x7E).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        // MARK: Structure

        func checkUTF8() throws {
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

        mutating func document() throws -> ConfigJSON {
            skipWhitespace()
            guard position < bytes.count else { throw failure("expected a JSON object but the file is empty or blank") }
            let value = try self.value()
            skipWhitespace()
            guard position == bytes.count else {
                throw failure("expected the end of the file after the top-level value but found \(found)")
            }
            return value
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        mutating func value() throws -> ConfigJSON {
            switch peek {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case let byte? where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
                return try number()
            default: throw failure("expected a value (object, array, string, number, true, false or null) but found \(found)")
            }
        }

        mutating func nest() throws {
            depth += 1
            guard depth <= Self.maximumDepth else {
                throw failure("expected at most \(Self.maximumDepth) levels of nesting but found more")
            }
        }

        mutating func object() throws -> ConfigJSON {
            try nest()
            defer { depth -= 1 }
            position += 1
            var members: [(key: String, value: ConfigJSON)] = []
            skipWhitespace()
            if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                let keyOffset = position
                guard peek == UInt8(ascii: "\"") else { throw failure("expected a quoted key but found \(found)") }
                let key = try string()
                if members.contains(where: { $0.key == key }) {
                    throw failure("duplicate key \"\(key)\" in one object (each layer may be named once)", at: keyOffset)
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

        mutating func array() throws -> ConfigJSON {
            try nest()
            defer { depth -= 1 }
            position += 1
            var items: [ConfigJSON] = []
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

        mutating func literal(_ word: String) throws {
            let expected = Array(word.utf8)
            guard bytes[position...].starts(with: expected) else { throw failure("expected '\(word)' but found \(found)") }
            position += expected.count
        }

        mutating func number() throws -> ConfigJSON {
            let start = position
            func digits(_ reader: inout Reader, after what: String) throws {
                guard let byte = reader.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                    throw reader.failure("expected a digit \(what) but found \(reader.found)")
                }
                while let byte = reader.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { reader.position += 1 }
            }
            if peek == UInt8(ascii: "-") { position += 1 }
            if peek == UInt8(ascii: "0") {
                position += 1
            } else {
                try digits(&self, after: "in a number")
            }
            if peek == UInt8(ascii: ".") { position += 1; try digits(&self, after: "after '.'") }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                try digits(&self, after: "in an exponent")
            }
            return .number(String(decoding: bytes[start..<position], as: UTF8.self))
        }

        mutating func string() throws -> String {
            position += 1   // opening quote
            var scalars = String.UnicodeScalarView()
            var run = position   // start of the current run of unescaped bytes
            func flush(_ reader: Reader, to end: Int) {
                scalars.append(contentsOf: String(decoding: reader.bytes[run..<end], as: UTF8.self).unicodeScalars)
            }
            while let byte = peek {
                switch byte {
                case UInt8(ascii: "\""):
                    flush(self, to: position)
                    position += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush(self, to: position)
                    position += 1
                    scalars.append(try escape())
                    run = position
                case 0..<0x20:
                    throw failure("expected a control character inside a string to be escaped but found \(found)")
                default:
                    position += 1
                }
            }
            throw failure("expected a closing '\"' but found the end of the file")
        }

        /// One escape after the backslash.
        mutating func escape() throws -> Unicode.Scalar {
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
                    guard bytes[position...].starts(with: Array("\\u".utf8)) else {
                        throw failure("expected a low surrogate '\\uDC00'...'\\uDFFF' after the high surrogate", at: start)
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw failure("expected a low surrogate '\\uDC00'...'\\uDFFF' after the high surrogate", at: start)
                    }
                    return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
                }
                guard let scalar = Unicode.Scalar(unit) else {
                    throw failure("expected a character but found a lone low surrogate", at: start)
                }
                return scalar
            default:
                position -= 1
                throw failure("expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u after '\\' but found \(found)")
            }
        }

        mutating func hex4() throws -> UInt32 {
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
}
