import IPRData
import IPRTensor

/// A watermark's trigger set: images and the labels a watermarked model was taught to give them
/// (Adi et al. 2018). Conform to bring your own; `TriggerFolder` reads the WatermarkNN layout.
public protocol TriggerSource: Sendable {
    /// Where the trigger set comes from, for messages and reports (a folder, a name).
    var name: String { get }
    /// The trigger images with their watermark labels; `classNames` says how many classes they are for.
    var samples: any Dataset { get }
    /// How a trigger image becomes a model input: the same in training and in verification.
    func transform(inputSize: Int, normalize: Normalize) -> SampleTransform
}

extension TriggerSource {
    /// The reference's `prepare_wm`: center crop to the input size (the WatermarkNN images are
    /// full-size photos; no resize), to tensor, normalise with the model's statistics.
    public func transform(inputSize: Int, normalize: Normalize) -> SampleTransform {
        SampleTransform(CenterCrop(inputSize), normalize: normalize)
    }

    /// Throws unless the trigger set is for a model with `classes` classes.
    public func check(classes: Int, model: String) throws {
        guard samples.count > 0 else { throw IPRBackdoorError(.emptyTriggerSet, "trigger set \(name) has no images") }
        guard samples.classNames.count == classes else {
            throw IPRBackdoorError(.classMismatch,
                "trigger set \(name) has labels for \(samples.classNames.count) classes, but \(model) has \(classes)")
        }
    }
}

/// A trigger set in WatermarkNN's layout: `pics/` with the images and `labels-cifar.txt` with one
/// label per line, in lexicographic file-name order (IPRData's `TriggerSet`). The labels are for the
/// ten CIFAR-10 classes unless the folder has a `classes.txt` with one class name per line.
public struct TriggerFolder: TriggerSource {
    public let root: String
    public let triggerSet: TriggerSet
    public var name: String { root }
    public var samples: any Dataset { triggerSet }

    /// - Throws: `IPRDataError` naming the file: no `pics/` or no images, a label file with a line
    ///   count other than the image count, a non-numeric label, a label outside the classes.
    public init(root: String, labelFile: String = "labels-cifar.txt") throws {
        self.root = root
        let classFile = root + "/classes.txt"
        var names = cifar10ClassNames
        if let text = try? String(contentsOfFile: classFile, encoding: .utf8) {
            names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw IPRDataError(.malformedLabels, "\(classFile): no class names") }
        }
        triggerSet = try TriggerSet(root: root, labelFile: labelFile, classNames: names)
    }
}
