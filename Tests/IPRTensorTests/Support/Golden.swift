import Foundation
import Testing
@testable import IPRTensor

/// Reads PyTorch golden tensors from `Fixtures/golden/<file>.safetensors` (made by
/// `Tools/golden/make_golden.py`; checked in so CI needs no Python).
struct Golden {
    let file: SafeTensorsFile
    let name: String

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden")

    init(_ name: String) throws {
        self.name = name
        file = try SafeTensors.read(contentsOf: Golden.directory.appendingPathComponent("\(name).safetensors").path)
    }

    /// Tensor `<case>.<role>`.
    func tensor(_ testCase: String, _ role: String) throws -> Tensor {
        let st = try file.tensor("\(testCase).\(role)")
        return Tensor(shape: st.shape, data: try st.floats())
    }

    /// Whether `<case>.<role>` exists.
    func has(_ testCase: String, _ role: String) -> Bool { file["\(testCase).\(role)"] != nil }

    /// Integer tensor `<case>.<role>` (labels).
    func ints(_ testCase: String, _ role: String) throws -> [Int] {
        try file.tensor("\(testCase).\(role)").int64s().map { Int($0) }
    }

    /// The case's parameters from `__metadata__`.
    func params(_ testCase: String) throws -> [String: Any] {
        let json = try #require(file.metadata[testCase], "no metadata for case \(testCase) in \(name)")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// Case names (the part of each tensor name before the first dot).
    var cases: [String] {
        var seen: [String] = []
        for n in file.names { let c = String(n.prefix { $0 != "." }); if !seen.contains(c) { seen.append(c) } }
        return seen
    }
}

/// Expects `actual` to match `expected` within `tolerance` relative to the expected tensor's scale.
func expectClose(_ actual: Tensor?, _ expected: Tensor, _ label: String, tolerance: Float = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else { Issue.record("\(label): missing", sourceLocation: sourceLocation); return }
    guard actual.shape == expected.shape || actual.count == expected.count else {
        Issue.record("\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation); return
    }
    let err = relativeError(actual, expected)
    if err > tolerance {
        var firstBad = 0
        for i in 0..<actual.count where Swift.abs(actual.pointer[i] - expected.pointer[i]) > tolerance { firstBad = i; break }
        Issue.record("\(label): max relative error \(err) > \(tolerance); first differing element \(firstBad): \(actual.pointer[firstBad]) vs \(expected.pointer[firstBad])",
                     sourceLocation: sourceLocation)
    }
}
