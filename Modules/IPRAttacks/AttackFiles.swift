import Foundation
import IPRModels
import IPRPassport
import IPRPlot
import IPRTensor

/// Writes an attack's outcome into a folder: `report.json`, `steps.csv` and `plot.png` / `plot.svg`
/// (sweeps), `model.safetensors` (an attacked model) and `forged-passport.safetensors` (a forgery).
public enum AttackFiles {
    /// Returns the paths written. Every file is written atomically.
    @discardableResult
    public static func write(_ outcome: AttackOutcome, to dir: String, info: CheckpointInfo) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var written: [String] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let report = outcome.report
        try AtomicFile.write(Array(try encoder.encode(report)) + [10], to: dir + "/report.json")
        written.append(dir + "/report.json")
        if !report.steps.isEmpty {
            let plot = LinePlot(title: "\(report.attack): \(info.arch)", xLabel: report.levelMeaning ?? "level", yLabel: "accuracy / detection (0…1)",
                                series: [.init("accuracy", report.steps.map { ($0.level, $0.accuracy) }),
                                         .init("owner's detection", report.steps.map { ($0.level, $0.detection) })],
                                yRange: 0...1)
            // cairo writes the files itself: into a temporary name, then renamed, as AtomicFile does.
            for (ext, draw) in [("png", plot.writePNG), ("svg", plot.writeSVG)] as [(String, (String) throws -> Void)] {
                let path = dir + "/plot." + ext, temporary = dir + "/.plot-\(UUID().uuidString)." + ext
                try draw(temporary)
                _ = try? FileManager.default.removeItem(atPath: path)
                try FileManager.default.moveItem(atPath: temporary, toPath: path)
                written.append(path)
            }
            try AtomicFile.write(Array(report.stepsCSV.utf8), to: dir + "/steps.csv")
            written.append(dir + "/steps.csv")
        }
        if let model = outcome.attackedModel {
            var attacked = outcome.attackedInfo ?? info, recorded = try attacked.passportMetadata(source: dir)
            recorded.attack = report.attack
            attacked.setPassportMetadata(recorded)
            try PassportCheckpoint.save(model, info: attacked, to: dir + "/model.safetensors")
            written.append(dir + "/model.safetensors")
        }
        if var file = outcome.attackedFile {
            var recorded = try PassportMetadata(file.metadata, source: dir)
            recorded.attack = report.attack
            recorded.write(into: &file.metadata)
            try SafeTensors.write(file, to: dir + "/model.safetensors")
            written.append(dir + "/model.safetensors")
        }
        if let forged = outcome.forgedPassport {
            try forged.write(to: dir + "/forged-passport.safetensors")
            written.append(dir + "/forged-passport.safetensors")
        }
        return written
    }
}
