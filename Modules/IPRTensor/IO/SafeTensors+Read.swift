// Safetensors decoding: header-length prefix, JSON header, validated data layout.
//
// Every malformed input throws IPRTensorError(.malformedSafeTensors) naming the source, the tensor or
// offset, what was expected and what was found; arithmetic on untrusted numbers is overflow-checked.
// The JSON header is parsed by a small strict parser here so that key order, exact integers,
// duplicate keys and byte offsets of syntax errors are all available.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension SafeTensors {
    /// Decodes a complete safetensors file held in memory; `source` names it in error messages.
    public static func decode(_ bytes: [UInt8], source: String = "<memory>") throws -> SafeTensorsFile {
        try bytes.withUnsafeBufferPointer { try decode(buffer: $0, source: source) }
    }

    /// Reads the file at `path` into memory once and decodes it; missing or unreadable files throw `.io`.
    public static func read(contentsOf path: String) throws -> SafeTensorsFile {
        try decode(readWholeFile(path), source: path)
    }

    // MARK: - Decoding

    /// One tensor entry of the header, validated on its own.
    private struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var begin: Int
        var end: Int
        var order: Int

        var offsetsText: String { "[\(begin), \(end)]" }
    }

    private static func decode(buffer: UnsafeBufferPointer<UInt8>, source: String) throws -> SafeTensorsFile {
        func malformed(_ message: String) -> IPRTensorError {
            IPRTensorError(.malformedSafeTensors, "\(source): \(message)")
        }

        let total = buffer.count
        if total == 0 {
            throw malformed("empty file (0 bytes); expected an 8-byte little-endian header length, a JSON header and data")
        }
        if total < 8 {
            throw malformed("truncated file: expected at least 8 bytes for the header length but found \(total)")
        }
        var declared: UInt64 = 0
        for i in 0..<8 {
            declared |= UInt64(buffer[i]) << UInt64(8 * i)
        }
        if declared > maximumHeaderLength {
            throw malformed("huge header length \(declared) at offset 0; expected at most \(maximumHeaderLength) bytes")
        }
        let afterPrefix = total - 8
        if declared > UInt64(afterPrefix) {
            throw malformed("header length \(declared) at offset 0 runs past end of file: only \(afterPrefix) bytes follow the 8-byte length")
        }
        let headerLength = Int(declared)
        let header = UnsafeBufferPointer(rebasing: buffer[8..<(8 + headerLength)])
        try validateUTF8(header, source: source)

        var parser = SafeTensorsHeaderParser(bytes: header, source: source)
        let root = try parser.parseDocument()
        guard case .object(let members) = root else {
            throw malformed("header is not a JSON object: expected '{' but found \(root.summary)")
        }

        let dataStart = 8 + headerLength
        let dataLength = total - dataStart
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        var seen = Set<String>()
        for (order, member) in members.enumerated() {
            if !seen.insert(member.key).inserted {
                throw malformed("duplicate key '\(member.key)' in header; each tensor name may appear once")
            }
            if member.key == "__metadata__" {
                metadata = try decodeMetadata(member.value, malformed: malformed)
            } else {
                entries.append(try decodeEntry(name: member.key, member.value, order: order,
                                               dataLength: dataLength, malformed: malformed))
            }
        }

        // Like the reference implementation: tensors tile the data section exactly, no overlaps, no holes.
        entries.sort { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return a.order < b.order
        }
        var covered = 0
        var previous: Entry?
        for entry in entries {
            if entry.begin < covered, let previous {
                throw malformed("tensor '\(entry.name)' data_offsets \(entry.offsetsText) overlap tensor '\(previous.name)' data_offsets \(previous.offsetsText)")
            }
            if entry.begin > covered {
                let hole = entry.begin - covered
                if let previous {
                    throw malformed("gap of \(hole) unused bytes between tensor '\(previous.name)' data_offsets \(previous.offsetsText) and tensor '\(entry.name)' data_offsets \(entry.offsetsText); expected contiguous tensors")
                }
                throw malformed("gap of \(hole) unused bytes before the first tensor '\(entry.name)' data_offsets \(entry.offsetsText); expected data to start at offset 0")
            }
            covered = entry.end
            previous = entry
        }
        if covered != dataLength {
            let after = previous.map { "after tensor '\($0.name)' data_offsets \($0.offsetsText)" } ?? "with no tensors in the header"
            throw malformed("gap of \(dataLength - covered) unused trailing bytes \(after): the tensors cover \(covered) of the data section's \(dataLength) bytes (data starts at file offset \(dataStart))")
        }

        var tensors: [String: SafeTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let slice = UnsafeBufferPointer(rebasing: buffer[(dataStart + entry.begin)..<(dataStart + entry.end)])
            tensors[entry.name] = SafeTensor(dtype: entry.dtype, shape: entry.shape, bytes: Array(slice))
        }
        return SafeTensorsFile(metadata: metadata, names: entries.map(\.name), tensors: tensors, source: source)
    }

    /// Validates one `name: {dtype, shape, data_offsets}` member against a data section of `dataLength` bytes.
    private static func decodeEntry(name: String, _ value: SafeTensorsHeaderValue, order: Int, dataLength: Int,
                                    malformed: (String) -> IPRTensorError) throws -> Entry {
        let what = "tensor '\(name)'"
        guard case .object(let fields) = value else {
            throw malformed("\(what): expected an object with dtype, shape and data_offsets but found \(value.summary)")
        }
        var byKey: [String: SafeTensorsHeaderValue] = [:]
        for field in fields where byKey.updateValue(field.value, forKey: field.key) != nil {
            throw malformed("\(what): duplicate field '\(field.key)'")
        }
        func field(_ key: String) throws -> SafeTensorsHeaderValue {
            guard let found = byKey[key] else {
                throw malformed("\(what): missing field '\(key)'; expected dtype, shape and data_offsets")
            }
            return found
        }
        func nonNegativeInteger(_ value: SafeTensorsHeaderValue, _ label: String) throws -> Int {
            guard case .number(let text, let isInteger) = value else {
                throw malformed("\(what): \(label) must be a non-negative integer but found \(value.summary)")
            }
            guard isInteger else {
                throw malformed("\(what): \(label) must be a non-negative integer but found \(text) (non-integer)")
            }
            if text.hasPrefix("-") {
                if text == "-0" { return 0 }
                throw malformed("\(what): \(label) must be a non-negative integer but found \(text) (negative)")
            }
            var result = 0
            for digit in text.utf8 {
                let (times10, overflow1) = result.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int(digit &- UInt8(ascii: "0")))
                if overflow1 || overflow2 {
                    throw malformed("\(what): \(label) must be a non-negative integer but found \(text) (too large)")
                }
                result = sum
            }
            return result
        }

        let dtypeValue = try field("dtype")
        guard case .string(let dtypeName) = dtypeValue else {
            throw malformed("\(what): field 'dtype' must be a string but found \(dtypeValue.summary)")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            let supported = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw malformed("\(what): unknown dtype '\(dtypeName)'; supported dtypes: \(supported)")
        }

        let shapeValue = try field("shape")
        guard case .array(let dims) = shapeValue else {
            throw malformed("\(what): field 'shape' must be an array of non-negative integers but found \(shapeValue.summary)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (i, dim) in dims.enumerated() {
            shape.append(try nonNegativeInteger(dim, "shape[\(i)]"))
        }

        let offsetsValue = try field("data_offsets")
        guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
            throw malformed("\(what): field 'data_offsets' must be an array [begin, end] of two non-negative integers but found \(offsetsValue.summary)")
        }
        let begin = try nonNegativeInteger(offsets[0], "data_offsets[0]")
        let end = try nonNegativeInteger(offsets[1], "data_offsets[1]")
        let entry = Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end, order: order)
        if begin > end {
            throw malformed("\(what) data_offsets \(entry.offsetsText) have begin > end; expected begin <= end")
        }
        if end > dataLength {
            throw malformed("\(what) data_offsets \(entry.offsetsText) out of range: the data section holds only \(dataLength) bytes")
        }
        guard let needed = SafeTensor.byteCount(shape: shape, dtype: dtype) else {
            throw malformed("\(what): shape \(shape) of \(dtype.rawValue) overflows: the shape product times \(dtype.byteSize) bytes does not fit in \(Int.bitWidth) bits")
        }
        if needed != end - begin {
            throw malformed("\(what) data_offsets \(entry.offsetsText) need \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) is \(needed) bytes (shape/byte-count mismatch)")
        }
        return entry
    }

    /// Validates `__metadata__`: null or an object whose values are all strings.
    private static func decodeMetadata(_ value: SafeTensorsHeaderValue,
                                       malformed: (String) -> IPRTensorError) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var metadata: [String: String] = [:]
            for member in members {
                guard case .string(let text) = member.value else {
                    throw malformed("__metadata__ key '\(member.key)': expected a string value but found \(member.value.summary)")
                }
                if metadata.updateValue(text, forKey: member.key) != nil {
                    throw malformed("__metadata__: duplicate key '\(member.key)'")
                }
            }
            return metadata
        default:
            throw malformed("__metadata__ must be an object of string values but found \(value.summary)")
        }
    }

    /// Throws `.malformedSafeTensors` with the file offset of the first invalid UTF-8 sequence in the header.
    private static func validateUTF8(_ header: UnsafeBufferPointer<UInt8>, source: String) throws {
        if String(validating: header, as: UTF8.self) != nil { return }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = header.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar):
                offset += scalar.count
            case .error(let length):
                let bad = header[offset..<min(offset + max(length, 1), header.count)]
                    .map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
                throw IPRTensorError(.malformedSafeTensors,
                                     "\(source): header is not valid UTF-8: found bytes \(bad) at file offset \(8 + offset)")
            case .emptyInput:
                return
            }
        }
    }

    // MARK: - File input

    /// The whole contents of `path`, read with a single allocation of the file's size when it is known.
    static func readWholeFile(_ path: String) throws -> [UInt8] {
        func failure(_ code: Int32, _ what: String) -> IPRTensorError {
            IPRTensorError(.io, "\(path): \(what): \(AtomicFile.describeErrno(code))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw failure(errno, "cannot open for reading")
        }
        defer { _ = close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw failure(errno, "cannot stat")
        }
        let expected = max(Int(info.st_size), 0)

        var got = 0
        var bytes = try [UInt8](unsafeUninitializedCapacity: expected) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            while got < expected {
                let n = safeTensorsPOSIXRead(fd, base + got, expected - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(errno, "cannot read (stopped at byte \(got) of \(expected))")
                }
                if n == 0 { break }
                got += n
                initialized = got
            }
        }
        // The file may have grown, or report no size (pipes, /proc): read on until end of file.
        if got == expected {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { safeTensorsPOSIXRead(fd, $0.baseAddress!, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(errno, "cannot read (stopped at byte \(bytes.count))")
                }
                if n == 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
            }
        }
        return bytes
    }
}

/// The POSIX `read(2)`, kept apart from `SafeTensors.read`.
private func safeTensorsPOSIXRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

// MARK: - JSON header parser

/// A parsed JSON value of a safetensors header; objects keep their members in file order.
private enum SafeTensorsHeaderValue {
    case object([(key: String, value: SafeTensorsHeaderValue)])
    case array([SafeTensorsHeaderValue])
    case string(String)
    case number(String, isInteger: Bool)
    case bool(Bool)
    case null

    /// A short description for error messages, e.g. `string "F32"` or `an array of 3 elements`.
    var summary: String {
        switch self {
        case .object(let members): "an object of \(members.count) member\(members.count == 1 ? "" : "s")"
        case .array(let items): "an array of \(items.count) element\(items.count == 1 ? "" : "s")"
        case .string(let text): text.count > 40 ? "string \"\(text.prefix(40))…\"" : "string \"\(text)\""
        case .number(let text, _): "number \(text)"
        case .bool(let flag): "\(flag)"
        case .null: "null"
        }
    }
}

/// A strict RFC 8259 parser over the header bytes (already validated as UTF-8), with a nesting limit.
private struct SafeTensorsHeaderParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let source: String
    var position = 0
    var depth = 0
    static let maximumDepth = 64

    init(bytes: UnsafeBufferPointer<UInt8>, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// One value surrounded by optional whitespace (including the trailing space padding).
    mutating func parseDocument() throws -> SafeTensorsHeaderValue {
        skipWhitespace()
        if position == bytes.count {
            throw error("expected a JSON object but the header is empty or blank")
        }
        let value = try parseValue()
        skipWhitespace()
        if position < bytes.count {
            throw error("expected only space padding after the JSON value but found \(describe(bytes[position]))")
        }
        return value
    }

    private func error(_ what: String) -> IPRTensorError {
        IPRTensorError(.malformedSafeTensors, "\(source): header is not valid JSON at file offset \(8 + position): \(what)")
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private var peek: UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws -> SafeTensorsHeaderValue {
        guard let byte = peek else { throw error("expected a value but the header ends") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("expected a value but found \(describe(byte))")
        }
    }

    private mutating func enterContainer() throws {
        depth += 1
        if depth > Self.maximumDepth {
            throw error("expected at most \(Self.maximumDepth) levels of nesting but found more")
        }
    }

    private mutating func parseObject() throws -> SafeTensorsHeaderValue {
        try enterContainer()
        defer { depth -= 1 }
        position += 1
        var members: [(key: String, value: SafeTensorsHeaderValue)] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else {
                throw error("expected a string key but found \(peek.map(describe) ?? "the end of the header")")
            }
            let key = try parseString()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else {
                throw error("expected ':' after key '\(key)' but found \(peek.map(describe) ?? "the end of the header")")
            }
            position += 1
            skipWhitespace()
            members.append((key: key, value: try parseValue()))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            default:
                throw error("expected ',' or '}' in an object but found \(peek.map(describe) ?? "the end of the header")")
            }
        }
    }

    private mutating func parseArray() throws -> SafeTensorsHeaderValue {
        try enterContainer()
        defer { depth -= 1 }
        position += 1
        var items: [SafeTensorsHeaderValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(items)
            default:
                throw error("expected ',' or ']' in an array but found \(peek.map(describe) ?? "the end of the header")")
            }
        }
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: SafeTensorsHeaderValue) throws -> SafeTensorsHeaderValue {
        let count = word.utf8CodeUnitCount
        let matches = bytes.count - position >= count
            && (0..<count).allSatisfy { bytes[position + $0] == word.utf8Start[$0] }
        guard matches else { throw error("expected '\(word)' but found \(describe(bytes[position]))...") }
        position += count
        return value
    }

    private mutating func parseNumber() throws -> SafeTensorsHeaderValue {
        let start = position
        var isInteger = true
        func isDigit(_ byte: UInt8?) -> Bool {
            byte.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        guard isDigit(peek) else { throw error("expected a digit in a number but found \(peek.map(describe) ?? "the end of the header")") }
        if peek == UInt8(ascii: "0") {
            position += 1
            if isDigit(peek) { throw error("expected no leading zero in a number but found \(describe(peek!)) after '0'") }
        } else {
            while isDigit(peek) { position += 1 }
        }
        if peek == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard isDigit(peek) else { throw error("expected a digit after '.' but found \(peek.map(describe) ?? "the end of the header")") }
            while isDigit(peek) { position += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard isDigit(peek) else { throw error("expected a digit in an exponent but found \(peek.map(describe) ?? "the end of the header")") }
            while isDigit(peek) { position += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        return .number(text, isInteger: isInteger)
    }

    private mutating func parseString() throws -> String {
        let openingQuote = position
        position += 1
        var unescaped: [UInt8] = []
        var hadEscape = false
        var runStart = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<position])
                position += 1
                if !hadEscape { return String(decoding: run, as: UTF8.self) }
                unescaped.append(contentsOf: run)
                return String(decoding: unescaped, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                hadEscape = true
                unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                position += 1
                guard let escape = peek else { throw error("expected an escape character but the header ends") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
                case UInt8(ascii: "b"): unescaped.append(0x08)
                case UInt8(ascii: "f"): unescaped.append(0x0C)
                case UInt8(ascii: "n"): unescaped.append(0x0A)
                case UInt8(ascii: "r"): unescaped.append(0x0D)
                case UInt8(ascii: "t"): unescaped.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try parseUnicodeEscape()
                    UTF8.encode(scalar) { unescaped.append($0) }
                default:
                    position -= 1
                    throw error("expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) but found \\\(describe(escape))")
                }
                runStart = position
                continue
            }
            if byte < 0x20 {
                throw error("expected control characters in strings to be escaped but found \(describe(byte))")
            }
            position += 1
        }
        position = openingQuote
        throw error("expected a closing '\"' but the string runs to the end of the header")
    }

    /// The scalar of `\uXXXX` (the `\u` already consumed), combining a surrogate pair when one follows.
    private mutating func parseUnicodeEscape() throws -> Unicode.Scalar {
        let high = try parseHex4()
        if (0xDC00...0xDFFF).contains(high) {
            throw error("expected a high surrogate before low surrogate \\u\(String(high, radix: 16))")
        }
        if (0xD800...0xDBFF).contains(high) {
            guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw error("expected a low surrogate \\uDC00-\\uDFFF after high surrogate \\u\(String(high, radix: 16))")
            }
            position += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw error("expected a low surrogate \\uDC00-\\uDFFF after high surrogate \\u\(String(high, radix: 16)) but found \\u\(String(low, radix: 16))")
            }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        return Unicode.Scalar(high)!
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek else { throw error("expected 4 hex digits after \\u but the header ends") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("expected 4 hex digits after \\u but found \(describe(byte))")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
