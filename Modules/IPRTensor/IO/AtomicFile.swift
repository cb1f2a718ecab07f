// Crash-safe whole-file writes: temp file in the target's directory, fsync, rename over the target.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file writes that either fully replace the target or leave it untouched.
public enum AtomicFile {
    /// Writes to a temp file in the same directory, fsyncs, then renames over `path`; on any failure the temp file is removed and `path` is untouched. Optional POSIX permissions (e.g. 0o600) set on the temp file before rename.
    public static func write(_ bytes: [UInt8], to path: String, permissions: Int? = nil) throws {
        if path.isEmpty {
            throw IPRTensorError(.io, "<empty path>: cannot write a file to an empty path")
        }
        if path.hasSuffix("/") {
            throw IPRTensorError(.io, "\(path): expected a file path but found a directory path (trailing '/')")
        }
        if let permissions, !(0...0o7777).contains(permissions) {
            throw IPRTensorError(.io, "\(path): permissions \(permissions) are outside the POSIX range 0...0o7777")
        }

        let directory = directoryPart(of: path)
        let (fd, tempPath) = try createTempFile(for: path, in: directory, permissions: permissions)
        var openFD: Int32 = fd
        var renamed = false
        defer {
            if openFD >= 0 { _ = close(openFD) }
            if !renamed { _ = unlink(tempPath) }
        }

        if let permissions, fchmod(fd, mode_t(permissions)) != 0 {
            throw failure(path, errno, "cannot set permissions \(octal(permissions)) on temporary file '\(tempPath)'")
        }
        try writeAll(bytes, to: fd, path: path, tempPath: tempPath)
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw failure(path, errno, "cannot fsync temporary file '\(tempPath)'")
        }
        openFD = -1
        if close(fd) != 0 {
            throw failure(path, errno, "cannot close temporary file '\(tempPath)'")
        }
        if rename(tempPath, path) != 0 {
            throw failure(path, errno, "cannot rename temporary file '\(tempPath)' over it")
        }
        renamed = true
        syncDirectory(directory)
    }

    // MARK: - Helpers

    /// The directory holding `path` ("." for a bare file name, "/" for a file in the root).
    static func directoryPart(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = path[..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }

    /// Creates a fresh, exclusive temp file next to `path`, returning its descriptor and path.
    private static func createTempFile(for path: String, in directory: String,
                                       permissions: Int?) throws -> (Int32, String) {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        // Created owner-only when permissions are requested so the data is never exposed more widely.
        let mode: mode_t = permissions == nil ? 0o666 : 0o600
        var attempt = 0
        while true {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let tempPath = (directory == "/" ? "/" : directory + "/") + ".\(base).tmp-\(getpid())-\(suffix)"
            let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            if fd >= 0 { return (fd, tempPath) }
            let code = errno
            if code == EINTR || (code == EEXIST && attempt < 16) {
                attempt += 1
                continue
            }
            throw IPRTensorError(.io, "\(path): cannot create temporary file in directory '\(directory)': "
                                 + describeErrno(code))
        }
    }

    /// Writes every byte to `fd` in large chunks, retrying short writes and EINTR.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String, tempPath: String) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let chunk = min(raw.count - offset, 1 << 30)
                let written = atomicFilePOSIXWrite(fd, base + offset, chunk)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure(path, errno, "cannot write \(raw.count) bytes to temporary file '\(tempPath)' (stopped at byte \(offset))")
                }
                if written == 0 {
                    throw IPRTensorError(.io, "\(path): writing temporary file '\(tempPath)' made no progress at byte \(offset) of \(raw.count)")
                }
                offset += written
            }
        }
    }

    /// Flushes the directory entry of the rename to disk; best effort, as some file systems refuse.
    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        if fd < 0 { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    /// An `.io` error for `path` with the description of errno `code` appended.
    private static func failure(_ path: String, _ code: Int32, _ what: String) -> IPRTensorError {
        IPRTensorError(.io, "\(path): \(what): \(describeErrno(code))")
    }

    /// "No such file or directory (errno 2)".
    static func describeErrno(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// "0o600".
    static func octal(_ value: Int) -> String {
        "0o" + String(value, radix: 8)
    }
}

/// The POSIX `write(2)`, named apart from `AtomicFile.write`.
private func atomicFilePOSIXWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
