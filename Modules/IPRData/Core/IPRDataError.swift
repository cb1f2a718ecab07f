import IPRTensor

/// The one error type of IPRData: missing or malformed data files, undecodable images, bad options.
///
/// Messages name the file, the offset or line, what was expected and what was found. Programmer
/// errors (a negative batch size passed by code) are preconditions, not errors.
public struct IPRDataError: LibraryError {
    /// A broad class of failure; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A file or folder that should exist does not.
        public static let missingFile = Code(name: "missingFile")
        /// The dataset has no test split (an image folder without `val/` and without a hold-out):
        /// its images are all training images.
        public static let noTestSplit = Code(name: "noTestSplit")
        /// A file exists but holds zero bytes.
        public static let emptyFile = Code(name: "emptyFile")
        /// A data file's size or header is not what its format requires.
        public static let malformedFile = Code(name: "malformedFile")
        /// A label is outside the dataset's classes.
        public static let labelOutOfRange = Code(name: "labelOutOfRange")
        /// A label file has the wrong number of lines or a line that is not a label.
        public static let malformedLabels = Code(name: "malformedLabels")
        /// An image file is damaged or truncated.
        public static let corruptImage = Code(name: "corruptImage")
        /// An image file is of a kind IPRData does not decode (not PNG or JPEG, 12-bit JPEG, …).
        public static let unsupportedImage = Code(name: "unsupportedImage")
        /// An image is smaller than a crop that needs it whole, or samples of a batch differ in size.
        public static let imageSize = Code(name: "imageSize")
        /// A file or folder could not be read or written.
        public static let io = Code(name: "io")
        /// An option (split, channels, dataset name, index) is invalid.
        public static let invalidOption = Code(name: "invalidOption")
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
