import ArgumentParser
import Foundation
import IPRModels
import IPRPassport
import IPRTensor
import IPRWorkflows

extension IPRTool {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What the project is for, on the CIFAR-10 images in Fixtures/: protect, release, steal, verify, refuse a forger (about a minute on 2 cores).",
            discussion: """
            The README's main job, as library calls (IPRWorkflows), each step printed with the command that does \
            the same: (1) train an AlexNet protected by a V2 passport on the 700 training images of \
            Fixtures/cifar10_subset; (2) release it (the passport stays secret); (3) a thief permutes and rescales \
            every layer's neurons of the released file — the same function, other weights; (4) the owner verifies \
            the stolen copy with the passport, aligned to the released file; (5) a forger claims it with a \
            passport of its own and is refused, and a dispute between the two claims decides for the owner. \
            Accuracy on 200 test images after so little training is far below full-CIFAR numbers but above \
            chance (10 %); the ownership evidence does not depend on it. To stay short, each verification \
            measures one random passport's accuracy where `iprtool verify` measures five; the verdicts use \
            the same rule.
            """)

        @Option(help: "Epochs to train.")
        var epochs = 4

        @Option(help: "Seed for initialisation, shuffling and augmentation.")
        var seed: UInt64 = 1

        @Option(help: "Output folder.")
        var out = "runs/demo"

        @Option(help: "CIFAR-10 folder (default: Fixtures/cifar10_subset of this checkout).")
        var data: String?

        func run() throws {
            guard let root = data ?? Self.findFixtures() else {
                throw ValidationError("cannot find Fixtures/cifar10_subset from \(FileManager.default.currentDirectoryPath); run from the repository root or pass --data")
            }
            let config = URL(fileURLWithPath: root).deletingLastPathComponent().appendingPathComponent("passport_configs/alexnet_passport.json").path
            let start = Date()
            say("swift-deepipr demo: ownership of an AlexNet trained on real CIFAR-10 images (\(root))")
            say("  BLAS: OpenBLAS \(BLASInfo.coreName) kernel, \(BLASInfo.threads) threads; convolutions: \(Convolution.kernels.name)")
            let data = DataRequest(dataset: "cifar10", root: root)
            let (owner, released, stolen) = (out + "/owner", out + "/alexnet-public.safetensors", out + "/stolen.safetensors")

            say("\n[1/5] protect — iprtool train --scheme v2 --passport-config \(config) --data \(root) --epochs \(epochs) --out \(owner)")
            var request = TrainingRequest(model: "alexnet", data: data, out: owner, epochs: epochs)
            request.seed = seed
            request.protection = PassportProtection(scheme: .v2, config: config)
            let trained = try ProtectedTraining.run(request)
            if case .interrupted = trained.outcome { throw ExitCode(130) }
            guard let passport = trained.passport else { throw ValidationError("training wrote no passport") }

            say("\n[2/5] release — iprtool release --checkpoint \(owner)/best.safetensors --out \(released)")
            try PassportCheckpoint.release(owner + "/best.safetensors", to: released)
            say("  \(released): the public network only; \(passport) stays with the owner")

            say("\n[3/5] steal — iprtool attack permute (every layer's neurons permuted and rescaled: same function, other weights)")
            let graph = try ChannelGraph.registry.lookup("alexnet")(trained.info.config)
            try SafeTensors.write(ChannelEdit.permute(SafeTensors.read(contentsOf: released), graph: graph, seed: seed &+ 1000, rescale: true), to: stolen)
            say("  \(stolen)")

            say("\n[4/5] verify — iprtool verify --checkpoint \(stolen) --passport \(passport) --reference \(released) --data \(root)")
            // One random passport's accuracy instead of verify's five: the verdict does not use them
            // (they show what a forger gets), and each is two passes over the test images.
            var thresholds = VerificationThresholds()
            thresholds.forgedAccuracySamples = 1
            var claim = OwnershipClaim(suspect: stolen, passport: passport, data: data)
            claim.reference = released
            claim.thresholds = thresholds
            let report = try OwnershipVerification.verify(claim)
            if let w = report.whitebox {
                say(String(format: "  %@: signature %d/%d bits; random passports read at most %.1f%% of them (p = %.3g); accuracy with the passport %.1f%%, public path %.1f%%",
                           report.verdict.rawValue, w.signature.matched, w.signature.bits, 100 * w.signature.nullMax,
                           w.signature.nullPValue, 100 * w.accuracy, 100 * (w.publicAccuracy ?? w.referenceAccuracy)))
                if let forged = w.forgedAccuracies.first { say(String(format: "  a random passport instead: accuracy %.1f%%", 100 * forged)) }
            }
            if let a = report.alignment { say("  alignment: " + a.summary) }

            say("\n[5/5] a forger's claim — iprtool dispute --checkpoint \(stolen) --claim \(passport) --claim \(out)/forger-passport.safetensors")
            // The forger builds the same architecture with a passport of its own: nothing of the owner's secret.
            let (forgerModel, _) = try PassportBlockFactory.makeModel("alexnet", config: trained.info.config, scheme: .v2,
                                                                      passports: PassportConfig.load(path: config), seed: seed &+ 1, passportSeed: seed &+ 2)
            var forged = try Passport.extract(from: forgerModel)
            forged.scheme = .v2
            try forged.write(to: out + "/forger-passport.safetensors")
            let dispute = try OwnershipDispute.settle(suspect: stolen, claims: [passport, out + "/forger-passport.safetensors"],
                                                      references: [released], data: data, thresholds: thresholds)
            for (i, c) in dispute.claims.enumerated() {
                say(String(format: "  claim %d (%@): %@, signature %.1f%% of the bits", i, i == 0 ? "owner" : "forger", c.verdict.rawValue, 100 * c.evidence.signature.detection))
            }
            say("  decision: " + (dispute.decision.map { "claim \($0), the \($0 == 0 ? "owner" : "forger")" } ?? "none") + " — \(dispute.reason)")
            say("\nDemo finished in \(elapsed(since: start)). Files in \(out). Next: README (attacks, audit, black-box, serving).")
            if report.verdict != .verified || dispute.decision != 0 { throw ExitCode(1) }
        }

        /// `Fixtures/cifar10_subset` in the current directory or above the executable (`.build/<config>/iprtool`).
        static func findFixtures() -> String? {
            let fm = FileManager.default
            var candidates = [fm.currentDirectoryPath]
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<5 { candidates.append(dir.path); dir.deleteLastPathComponent() }
            return candidates.map { $0 + "/Fixtures/cifar10_subset" }.first { fm.fileExists(atPath: $0) }
        }
    }
}
