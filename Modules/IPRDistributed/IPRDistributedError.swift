import IPRTensor

/// The one error type of IPRDistributed.
public struct IPRDistributedError: LibraryError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// Ranks that disagree on the command, settings or data.
        public static let disagreement = Code(name: "disagreement")
        /// MPI could not start or a call failed.
        public static let mpi = Code(name: "mpi")
    }

    public let code: Code
    public let message: String
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code; self.message = message; self.file = file; self.line = line
    }
}
