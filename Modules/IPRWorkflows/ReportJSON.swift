import Foundation

/// Reports as the commands print them: one JSON object, keys sorted, non-finite numbers as the
/// strings "inf", "-inf" and "nan" (JSON has none).
public enum ReportJSON {
    public static func encode(_ report: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}
