import IPRTensor

/// The one error type of IPRAttacks: options an attack does not take or cannot parse, and inputs an
/// attack cannot work with. Messages name the attack and the option.
public struct IPRAttacksError: LibraryError {
    /// A broad class of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// An option the attack does not take, or a value it cannot use (a level outside 0…1).
        public static let invalidOption = Code(name: "invalidOption")
        /// The model, passport or data do not suit the attack (no passport layers, no attacker data).
        public static let unsuitableInput = Code(name: "unsuitableInput")
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
