import CZlib

/// gzip/zlib streams through zlib: IDX files come gzipped (`*-ubyte.gz`).
enum Gzip {
    /// Whether `bytes` start with the gzip signature 1F 8B.
    static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// The decompressed contents of a gzip (or zlib) stream, all members concatenated.
    /// - Throws: `IPRDataError.malformedFile` naming `source` and the compressed offset reached, also
    ///   when the output would pass `maximumBytes` (a small file can inflate to any size).
    static func decompress(_ bytes: [UInt8], source: String, maximumBytes: Int = Int.max) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count * 4, maximumBytes))
        var stream = z_stream()
        guard czlib_inflateInit2(&stream, 15 + 32) == Z_OK else {   // +32: detect gzip or zlib header
            throw IPRDataError(.io, "\(source): cannot start zlib inflate")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, buffer.count - Int(stream.avail_out))
                }
                let offset = input.count - Int(stream.avail_in)
                guard out.count + produced <= maximumBytes else {
                    throw IPRDataError(.malformedFile, "\(source): gzip data inflates to more than \(maximumBytes) bytes (by compressed byte \(offset))")
                }
                out.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow (files made by `cat a.gz b.gz`).
                    if stream.avail_in > 0 && Gzip.isGzip(Array(input[offset..<min(offset + 2, input.count)])) {
                        guard inflateReset(&stream) == Z_OK else { throw IPRDataError(.io, "\(source): cannot reset zlib inflate") }
                        continue
                    }
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw IPRDataError(.malformedFile,
                                       "\(source): gzip data ends at byte \(offset) before the end of the compressed stream (truncated file)")
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw IPRDataError(.malformedFile, "\(source): corrupt gzip data near compressed byte \(offset): \(detail)")
                }
            }
        }
        return out
    }

    /// `bytes` as a gzip stream (used by tests and tools to write IDX files).
    static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        precondition(czlib_deflateInit2(&stream, level, 15 + 16) == Z_OK, "deflateInit2 failed")   // +16: gzip header
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 64
        var out = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst -> Int in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate did not finish: \(status)")
                return dst.count - Int(stream.avail_out)
            }
        }
        return Array(out.prefix(written))
    }
}
