import IPRTensor

/// The one error type of IPRBackdoor: trigger sets that do not fit a model, null models that do not
/// fit the suspect, thresholds out of range.
///
/// Messages name the file or trigger set, what was expected and what was found. Errors reading the
/// trigger images and labels themselves are IPRData's (`IPRDataError`), naming the file and line.
public struct IPRBackdoorError: LibraryError {
    /// A broad class of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The trigger set's labels are for another number of classes than the model has.
        public static let classMismatch = Code(name: "classMismatch")
        /// A null model is of another architecture, input size or number of classes than the suspect.
        public static let nullModelMismatch = Code(name: "nullModelMismatch")
        /// A threshold or option is outside its range.
        public static let invalidOption = Code(name: "invalidOption")
        /// The trigger set has no samples.
        public static let emptyTriggerSet = Code(name: "emptyTriggerSet")
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
