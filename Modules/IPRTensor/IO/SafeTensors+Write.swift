// Safetensors encoding: deterministic JSON header padded to 8 bytes, tensors packed in `names` order.

extension SafeTensors {
    /// Encodes `file`: tensors packed in `names` order, header keys in `names` order then `__metadata__` (sorted keys, omitted when empty), header padded with spaces so the data starts at a multiple of 8.
    public static func encode(_ file: SafeTensorsFile) -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(64 + file.names.count * 96)
        json.append(UInt8(ascii: "{"))
        var offset = 0
        var tensors: [SafeTensor] = []
        tensors.reserveCapacity(file.names.count)
        for (index, name) in file.names.enumerated() {
            guard let tensor = file[name] else {
                preconditionFailure("SafeTensors.encode: tensor '\(name)' is listed in names but missing")
            }
            let expected = SafeTensor.byteCount(shape: tensor.shape, dtype: tensor.dtype)
            precondition(expected == tensor.bytes.count,
                         "SafeTensors.encode: tensor '\(name)' shape \(tensor.shape) of \(tensor.dtype.rawValue) needs \(expected.map(String.init) ?? "an impossible number of") bytes but holds \(tensor.bytes.count)")
            if index > 0 { json.append(UInt8(ascii: ",")) }
            appendJSONString(name, to: &json)
            let shapeText = tensor.shape.map(String.init).joined(separator: ",")
            let end = offset + tensor.bytes.count
            json.append(contentsOf: ":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
            tensors.append(tensor)
        }
        if !file.metadata.isEmpty {
            if !file.names.isEmpty { json.append(UInt8(ascii: ",")) }
            json.append(contentsOf: "\"__metadata__\":{".utf8)
            for (index, key) in file.metadata.keys.sorted().enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(file.metadata[key]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        json.append(UInt8(ascii: "}"))

        // The 8-byte length prefix is itself aligned, so padding the header to a multiple of 8 aligns the data.
        let headerLength = (json.count + 7) & ~7
        let total = 8 + headerLength + offset
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let base = UnsafeMutableRawPointer(out.baseAddress!)
            withUnsafeBytes(of: UInt64(headerLength).littleEndian) { base.copyMemory(from: $0.baseAddress!, byteCount: 8) }
            json.withUnsafeBytes { base.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            (base + 8 + json.count).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: " "), count: headerLength - json.count)
            var position = 8 + headerLength
            for tensor in tensors where !tensor.bytes.isEmpty {
                tensor.bytes.withUnsafeBytes { (base + position).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                position += tensor.bytes.count
            }
            initialized = total
        }
    }

    /// Encodes `file` and writes it atomically to `path` (see `AtomicFile.write`), optionally with POSIX `permissions`.
    public static func write(_ file: SafeTensorsFile, to path: String, permissions: Int? = nil) throws {
        try AtomicFile.write(encode(file), to: path, permissions: permissions)
    }

    /// Appends `text` as a JSON string literal: quotes, backslashes and control characters escaped, the rest raw UTF-8.
    private static func appendJSONString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): json.append(contentsOf: "\\\\".utf8)
            case 0x0A: json.append(contentsOf: "\\n".utf8)
            case 0x0D: json.append(contentsOf: "\\r".utf8)
            case 0x09: json.append(contentsOf: "\\t".utf8)
            case 0x00..<0x20:
                let hex = String(byte, radix: 16, uppercase: true)
                json.append(contentsOf: "\\u00\(hex.count == 1 ? "0" + hex : hex)".utf8)
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }
}
