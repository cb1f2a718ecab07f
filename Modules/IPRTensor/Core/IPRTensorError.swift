/// What every library's error type has: a code, a message that names the file, key or offset with
/// what was expected and what was found, and where it was raised. Conformers get `description`,
/// `detailedDescription()` and `==` (code and message) from here.
public protocol LibraryError: Error, CustomStringConvertible, Equatable {
    associatedtype Code: Hashable & CustomStringConvertible
    var code: Code { get }
    var message: String { get }
    var file: String { get }
    var line: Int { get }
}

extension LibraryError {
    public var description: String { message }

    /// The message plus where it was raised, for `--verbose` output.
    public func detailedDescription() -> String { "\(Self.self).\(code): \(message)\n└─ raised at \(file):\(line)" }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.message == b.message }
}

/// The one error type of IPRTensor: bad files, bad shapes from user data, unknown registry names.
///
/// Messages name the file, the offset or key, what was expected and what was found.
/// Programmer errors (mismatched shapes passed by code) are preconditions, not errors.
public struct IPRTensorError: LibraryError {
    /// A broad class of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A safetensors file is malformed (header, offsets, dtype, sizes).
        public static let malformedSafeTensors = Code(name: "malformedSafeTensors")
        /// A file could not be read or written.
        public static let io = Code(name: "io")
        /// A state dict does not fit a module (missing/unexpected keys, shape mismatch).
        public static let stateDictMismatch = Code(name: "stateDictMismatch")
        /// A name is not in a registry.
        public static let unknownName = Code(name: "unknownName")
        /// A configuration value (JSON, schedule, option) is invalid.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
    }

    public let code: Code
    public let message: String
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }
}
