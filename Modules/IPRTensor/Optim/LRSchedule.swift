import Foundation

/// A learning-rate schedule in the reference's `lr_configs/*.json` format:
/// `{"epochs": 200, "type": "steps", "steps": [100, 150], "gamma": 0.1}` — the rate is multiplied
/// by `gamma` at each listed epoch (PyTorch `MultiStepLR`).
public struct LRSchedule: Codable, Sendable, Equatable {
    public var epochs: Int
    public var type: String
    public var steps: [Int]
    public var gamma: Float

    public init(epochs: Int, steps: [Int], gamma: Float = 0.1) {
        self.epochs = epochs
        self.type = "steps"
        self.steps = steps
        self.gamma = gamma
    }

    /// The rate for a 0-based epoch: `base · gamma^(number of steps ≤ epoch)`.
    public func learningRate(base: Float, epoch: Int) -> Float {
        base * Foundation.pow(gamma, Float(steps.filter { $0 <= epoch }.count))
    }

    /// Parses and checks a schedule file's contents; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> LRSchedule {
        let s: LRSchedule
        do { s = try JSONDecoder().decode(LRSchedule.self, from: data) } catch {
            throw IPRTensorError(.invalidConfiguration,
                                 "\(source): expected {\"epochs\": Int, \"type\": \"steps\", \"steps\": [Int], \"gamma\": Float}: \(error)")
        }
        guard s.type == "steps" else {
            throw IPRTensorError(.invalidConfiguration, "\(source): unknown schedule type '\(s.type)', expected 'steps'")
        }
        guard s.epochs > 0, s.steps.allSatisfy({ $0 >= 0 }), s.steps == s.steps.sorted(), s.gamma > 0 else {
            throw IPRTensorError(.invalidConfiguration,
                                 "\(source): need epochs > 0, non-negative increasing steps and gamma > 0, found epochs \(s.epochs), steps \(s.steps), gamma \(s.gamma)")
        }
        return s
    }

    /// Reads a schedule file.
    public static func load(path: String) throws -> LRSchedule {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IPRTensorError(.io, "\(path): cannot read learning-rate schedule")
        }
        return try decode(data, source: path)
    }
}
