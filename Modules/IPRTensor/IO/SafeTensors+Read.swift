// Safetensors decoding: header-length prefix, JSON header, validated data layout.
//
// Every malformed input throws IPRTensorError(.malformedSafeTensors) naming the source, the tensor or
// offset, what was expected and what was found; arithmetic on untrusted numbers is overflow-checked.
// The JSON header is parsed by the strict `JSONValue` parser, which keeps key order, exact integers and
// byte offsets of syntax errors; duplicate keys are reported here, naming the tensor or field.

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

        let root: JSONValue
        do {
            root = try JSONValue.parse(header, allowsDuplicateKeys: true)
        } catch {
            throw malformed("header is not valid JSON at file offset \(8 + error.offset): \(error.reason)")
        }
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
    private static func decodeEntry(name: String, _ value: JSONValue, order: Int, dataLength: Int,
                                    malformed: (String) -> IPRTensorError) throws -> Entry {
        let what = "tensor '\(name)'"
        guard case .object(let fields) = value else {
            throw malformed("\(what): expected an object with dtype, shape and data_offsets but found \(value.summary)")
        }
        var byKey: [String: JSONValue] = [:]
        for field in fields where byKey.updateValue(field.value, forKey: field.key) != nil {
            throw malformed("\(what): duplicate field '\(field.key)'")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let found = byKey[key] else {
                throw malformed("\(what): missing field '\(key)'; expected dtype, shape and data_offsets")
            }
            return found
        }
        func nonNegativeInteger(_ value: JSONValue, _ label: String) throws -> Int {
            guard case .number(let text) = value else {
                throw malformed("\(what): \(label) must be a non-negative integer but found \(value.summary)")
            }
            guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
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
    private static func decodeMetadata(_ value: JSONValue,
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
