import Foundation

/// File access for the readers: whole-file reads and sorted folder listings with typed errors.
enum FileSystem {
    /// The bytes of `path`; a missing file, a folder or an unreadable file throws naming the path.
    static func read(_ path: String, allowEmpty: Bool = false) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw IPRDataError(.missingFile, "\(path): no such file")
        }
        if isDirectory.boolValue { throw IPRDataError(.io, "\(path): expected a file, found a folder") }
        guard let handle = fopen(path, "rb") else {
            throw IPRDataError(.io, "\(path): cannot open (\(String(cString: strerror(errno))))")
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(handle) != 0 {
                    throw IPRDataError(.io, "\(path): read error after \(bytes.count) bytes (\(String(cString: strerror(errno))))")
                }
                break
            }
        }
        if bytes.isEmpty && !allowEmpty { throw IPRDataError(.emptyFile, "\(path): empty file (0 bytes)") }
        return bytes
    }

    /// Whether `path` is an existing folder.
    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether `path` is an existing regular file (or a link to one).
    static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The entries of folder `path` (no hidden names), sorted by Unicode code points as Python's `sorted`.
    static func list(_ path: String, what: String) throws -> [String] {
        guard isDirectory(path) else {
            throw IPRDataError(.missingFile, "\(path): no such folder (expected \(what))")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw IPRDataError(.io, "\(path): cannot list folder (\(error.localizedDescription))")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted(by: codePointOrder)
    }

    /// String order by Unicode scalar values, as Python's `sorted` orders file names.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// `a/b` without doubling slashes.
    static func join(_ a: String, _ b: String) -> String {
        a.isEmpty ? b : (a.hasSuffix("/") ? a + b : a + "/" + b)
    }
}
