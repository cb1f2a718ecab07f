import IPRBackdoor
import IPRModels
import IPRPassport
import IPRTensor

/// Model extraction: a fresh network of the stolen model's architecture (plain batch norm, weights
/// of the attacker's seed) trained only on the labels the stolen model predicts for the attacker's
/// images — what a thief with query access, or one who wants weights that are no longer the owner's,
/// does. The white-box claim cannot survive it: the student's filters are new, so the owner's
/// signature is read from weights that never saw the passport, and the alignment to the owner's model
/// (the stolen one stands in for the reference) finds no copy. What may survive is a backdoor: with
/// the owner's trigger set (V3), the report gives the student's trigger accuracy and the black-box
/// verdict. `accuracy` is the student's on the owner's held-out data; `agreement` (each step) the
/// fraction of those images on which it predicts what the stolen model predicts.
struct DistillAttack: Attack {
    var options: [AttackOption] {
        [.epochs("epochs of training the student on the stolen model's labels"),
         .lr("learning rate (SGD, momentum 0.9, constant)"),
         AttackOption("weight-decay", default: "5e-4", "L2 weight decay")]
    }

    func run(_ context: AttackContext) throws -> AttackOutcome {
        let epochs = try context.options.int("epochs", atLeast: 1)
        let lr = try context.options.double("lr", in: 1e-8...10), decay = try context.options.double("weight-decay", in: 0...1)
        let data = try context.requireAttackerData(does: "labels the attacker's images with the stolen model")
        let before = try context.measure()
        let teacher = ModelOracle(context.model)
        let triggers = try context.triggers.map { source -> (name: String, batches: any BatchSource, before: Double) in
            try source.check(classes: context.info.config.classes, model: context.info.arch)
            let batches = source.batches(inputSize: context.info.config.inputSize, normalize: context.info.normalize)
            let (matched, total) = try BlackBoxVerifier.matches(teacher, triggers: batches)
            return (source.name, batches, Double(matched) / Double(max(total, 1)))
        }

        // The student as the thief ships it: the plain architecture, no passport anywhere.
        var plainInfo = context.info, recorded = try context.info.passportMetadata(source: context.info.arch).asPlain
        recorded.extractedFrom = context.info.arch
        plainInfo.setPassportMetadata(recorded)
        let student = try Models.make(context.info.arch, config: context.info.config, seed: context.seed ^ 0xD157_111A)
        let sgd = SGD(parameters: student.trainableParameters(), learningRate: Float(lr), momentum: 0.9, weightDecay: Float(decay))
        let edit = try EditedModel(context)

        var steps: [AttackReport.Step] = [], after = before, triggerAfter: (accuracy: Double, verdict: Verdict)?
        for epoch in 1...epochs {
            var loss = 0.0, seen = 0
            try data.batches.forEachBatch(epoch: epoch - 1) { batch in
                let images = batch.images
                let labels = try teacher.predict(images)   // the stolen model's answers replace the attacker's labels
                sgd.zeroGrad()
                let l = crossEntropy(student(images, .train), labels: labels)
                l.backward()
                sgd.step()
                loss += Double(l.item) * Double(labels.count)
                seen += labels.count
            }
            let accuracy = try Evaluation.run(student, on: context.evaluation).accuracy
            let agreement = try agreementOn(context.evaluation, student, teacher)
            let file = student.stateDict(metadata: plainInfo.metadata)
            let (measured, alignment) = try edit.measure(file, aligned: true)
            after = measured
            var extra = ["trainLoss": loss / Double(max(seen, 1)), "agreement": agreement]
            if let alignment { extra["matchedFraction"] = alignment.matchedFraction; extra["meanSimilarity"] = alignment.meanSimilarity }
            if let triggers {
                let report = try BlackBoxVerifier.verify(ModelOracle(student), triggers: triggers.batches, classes: context.info.config.classes,
                                                         triggerSet: triggers.name)
                triggerAfter = (report.trigger.accuracy, report.verdict)
                extra["triggerAccuracy"] = report.trigger.accuracy
            }
            steps.append(.init(level: Double(epoch), accuracy: accuracy, detection: measured.detection, verdict: measured.verdict, extra: extra))
            context.progress("distill epoch \(epoch)/\(epochs): loss \(String(format: "%.4f", loss / Double(max(seen, 1)))), accuracy \(percent(accuracy)), agreement \(percent(agreement)), owner's detection \(percent(measured.detection)), \(measured.verdict)"
                             + (triggerAfter.map { ", trigger accuracy \(percent($0.accuracy)) (\($0.verdict))" } ?? ""))
        }
        var report = AttackReport(attack: context.attack, levelMeaning: "epoch of training the extracted model", options: context.options.values,
                                  seed: context.seed, before: before, after: after, steps: steps)
        if let triggers, let triggerAfter {
            report.trigger = .init(before: triggers.before, after: triggerAfter.accuracy, verdict: triggerAfter.verdict, triggerSet: triggers.name)
        }
        return AttackOutcome(report: report, attackedModel: student, attackedInfo: plainInfo)
    }

    /// The fraction of `data`'s images on which `student` predicts what `teacher` predicts.
    private func agreementOn(_ data: any BatchSource, _ student: any Layer, _ teacher: ModelOracle) throws -> Double {
        var same = 0, total = 0
        try data.forEachBatch(epoch: 0) { batch in
            let images = batch.images
            let mine = try ModelOracle(student).predict(images), theirs = try teacher.predict(images)
            same += zip(mine, theirs).filter { $0 == $1 }.count
            total += mine.count
        }
        return Double(same) / Double(max(total, 1))
    }
}
