import IPRTensor

/// The one error type of IPRPassport: bad passport configs, signatures and passport files.
///
/// Messages name the file, the key path or layer, what was expected and what was found.
/// Programmer errors (a signature compared with a γ of another length) are preconditions, not errors.
public struct IPRPassportError: LibraryError {
    /// A broad class of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A signature text needs more bits than the layer has output channels.
        public static let signatureTooLong = Code(name: "signatureTooLong")
        /// Signature bits are not all ±1 (or there are none).
        public static let invalidSignature = Code(name: "invalidSignature")
        /// A passport config is not valid JSON or has a value of the wrong type at some key.
        public static let invalidConfig = Code(name: "invalidConfig")
        /// A passport config flags a layer the model does not have.
        public static let unknownLayer = Code(name: "unknownLayer")
        /// A passport file is malformed (missing keys, bad metadata).
        public static let malformedPassportFile = Code(name: "malformedPassportFile")
        /// A passport, signature or γ does not fit the layer it is meant for.
        public static let shapeMismatch = Code(name: "shapeMismatch")
        /// A claim of one scheme on a model that cannot carry it (a V1 passport on a plain model).
        public static let schemeMismatch = Code(name: "schemeMismatch")
        /// A file could not be read or written.
        public static let io = Code(name: "io")
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
