import CFuzzDriver
import Foundation

/// A private scratch folder for parsers that take paths: each input is written to a file in it, so
/// the fuzzer drives the same code a user's file does (`FileSystem.read` included). It lives in
/// /dev/shm when there is one (no disk writes at thousands of inputs a second).
public enum Scratch {
    public static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/ipr-fuzz-\(getpid())"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// Writes `bytes` to `name` in the scratch folder and returns its path.
    @discardableResult
    public static func write(_ bytes: UnsafeBufferPointer<UInt8>, as name: String) -> String {
        let path = folder + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(buffer: bytes)) else { fatalError("cannot write \(path)") }
        return path
    }
}

/// The fuzzer's input as a buffer.
public func input(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size == 0 ? nil : data, count: size)
}

/// Hands control to libFuzzer, which calls `test` with each input (its options come from the
/// command line, as `Tools/fuzz/run` passes them).
public func fuzzMain(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}
