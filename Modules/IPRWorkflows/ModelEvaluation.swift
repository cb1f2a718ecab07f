import IPRModels
import IPRPassport

/// A checkpoint's loss and accuracy on a dataset's test split; its JSON is `iprtool evaluate --json`'s.
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var checkpoint: String
    /// The registered architecture the checkpoint records.
    public var arch: String
    public var dataset: String
    public var accuracy: Double
    public var loss: Double
    public var samples: Int
    /// The images were not a test split (a folder evaluated whole): why; not part of the JSON.
    public var note: String?

    enum CodingKeys: String, CodingKey { case checkpoint, arch, dataset, accuracy, loss, samples }
}

public enum ModelEvaluation {
    /// Evaluates `checkpoint` (any file `iprtool` writes: plain, passport, released) on `data`'s test
    /// split, transformed as the checkpoint records (input size, normalisation).
    public static func run(_ checkpoint: String, data: DataRequest) throws -> EvaluationReport {
        try data.validate()
        let (model, info, _) = try PassportCheckpoint.load(checkpoint)
        let evaluation = try data.evaluation(for: info, model: checkpoint)
        let result = try Evaluation.run(model, on: evaluation.batches)
        return EvaluationReport(checkpoint: checkpoint, arch: info.arch, dataset: data.dataset, accuracy: result.accuracy,
                                loss: result.loss, samples: result.samples, note: evaluation.note)
    }
}
