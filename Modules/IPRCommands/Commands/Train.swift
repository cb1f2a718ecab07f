import ArgumentParser
import Foundation
import IPRDistributed
import IPRModels
import IPRPassport
import IPRTensor
import IPRWorkflows

/// What `train --scheme` embeds: a passport (V1, V2), a passport and a trigger set (V3), or a trigger
/// set alone (the backdoor watermark of Adi et al. 2018, the baseline of every comparison).
enum TrainingScheme: String, CaseIterable, ExpressibleByArgument {
    case v1, v2, v3, backdoor
    var passportScheme: Scheme? { Scheme(rawValue: rawValue) }
    var usesTriggerSet: Bool { self == .v3 || self == .backdoor }
}

extension IPRTool {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model and write last/best checkpoints and a history CSV.",
            discussion: """
            Writes OUT/last.safetensors (every epoch), OUT/best.safetensors (best test accuracy), \
            OUT/optimizer.safetensors (momentum, for --resume) and OUT/history.csv (one row per epoch). \
            Ctrl-C stops at the next batch and keeps the last finished epoch; --resume continues from it.

            With --scheme v1 or v2 the blocks a passport config flags become passport layers (DeepIPR scheme 1 \
            or 2), trained with the sign loss that embeds the signature; OUT/passport.safetensors (mode 0600) \
            then holds the passports and signatures — keep it secret, it proves ownership later (`iprtool verify`).
            --scheme v3 is v2 with every batch extended by --trigger-batch images of --trigger-set (cycled, \
            through both paths), so that ownership can also be shown from predictions alone \
            (`iprtool verify --trigger-set`); --scheme backdoor adds the trigger set to a plain model. \
            history.csv then logs trigger_acc, the trigger-set accuracy after each epoch. \
            With v2 and v3, test_acc is the public path's (what `iprtool release` ships, and what picks \
            best.safetensors), passport_acc the passport path's on the same test images; train_acc is the \
            passport path's on the training batches, train_public_acc the public path's.

            Started by mpirun, training is data-parallel over the ranks: each takes its slice of every global \
            batch of --batch-size, gradients are averaged in one allreduce per step, rank 0 alone writes.

            Example: iprtool train --model alexnet --dataset cifar10 --data Fixtures/cifar10_subset --epochs 20 --out runs/alexnet
            Example: iprtool train --scheme v2 --passport-config Fixtures/passport_configs/alexnet_passport.json \
              --pretrained runs/alexnet/best.safetensors --data Fixtures/cifar10_subset --epochs 20 --out runs/alexnet-v2
            Example: iprtool train --scheme v3 --passport-config Fixtures/passport_configs/alexnet_passport.json \
              --trigger-set Fixtures/trigger_set --pretrained runs/alexnet/best.safetensors \
              --data Fixtures/cifar10_subset --epochs 15 --out runs/alexnet-v3
            Example: mpirun -np 2 -x OMP_NUM_THREADS=1 iprtool train --model alexnet --data Fixtures/cifar10_subset --epochs 20 --out runs/dp
            """)

        @Option(help: "Architecture (see `iprtool models`).")
        var model = "alexnet"

        @OptionGroup var data: DataArguments

        @Option(help: "Epochs to train.")
        var epochs = 200

        @Option(help: "Initial learning rate.")
        var lr: Float = 0.01

        @Option(help: "SGD momentum.")
        var momentum: Float = 0.9

        @Option(help: "L2 weight decay.")
        var weightDecay: Float = 1e-4

        @Option(help: "Learning-rate schedule in the reference's lr_configs JSON format ({\"epochs\", \"type\": \"steps\", \"steps\", \"gamma\"}); default: ×0.1 at 50 % and 75 % of the epochs.")
        var lrConfig: String?

        @Option(help: "Normalisation in the conv blocks: bn, gn, in or none.")
        var norm: NormKind = .bn

        @Option(help: "Input image size (32 for CIFAR-style data, 224 for ImageNet-style).")
        var inputSize = 32

        @Option(help: "Seed for initialisation, shuffling and augmentation.")
        var seed: UInt64 = 0

        @Option(help: "Seed of the passports and signatures, i.e. of the secret. Default: a fresh one from the system's cryptographic random source, kept in OUT/passport.safetensors (metadata passport_seed). Give one only to rebuild a passport exactly, never one that was published.")
        var passportSeed: UInt64?

        @Option(help: "Output folder.")
        var out: String

        @Option(help: "What to embed: v1 (passport needed at inference), v2 (public + private paths), v3 (v2 + trigger set) or backdoor (trigger set only). Default: nothing, a plain model.")
        var scheme: TrainingScheme?

        @Option(help: "Passport config (the reference's passport_configs JSON: false / true / signature text per block).")
        var passportConfig: String?

        @Option(help: "Start from this trained plain checkpoint (conv weights and norms are copied by name).")
        var pretrained: String?

        @Option(help: "Sign-loss weight α per passport layer.")
        var signLoss: Float = 0.1

        @Option(help: "Passport keys: random (uniform in [−1, 1]), image (one image through --pretrained) or shuffle (20 images through --pretrained, channels shuffled; the reference's default).")
        var keyType: KeyType = .random

        @Option(help: "Dataset the passport images come from (default: the test split of --dataset; e.g. trigger-set).")
        var keyDataset: String?

        @Option(help: "Folder of --key-dataset (default: --data).")
        var keyData: String?

        @Option(help: "Trigger set for --scheme v3 or backdoor: a folder with pics/ and labels-cifar.txt (WatermarkNN's layout; optional classes.txt).")
        var triggerSet: String?

        @Option(help: "Trigger images appended to every training batch (the reference: 2).")
        var triggerBatch = 2

        @Option(help: "Compute each batch's gradient in N slices, one after another (gradient accumulation): less memory, and one process takes bit for bit the steps of `mpirun -np N` (batch norm normalises each slice alone). Batches with fewer than N images are skipped.")
        var microBatches = 1

        @Flag(help: "Continue from OUT/last.safetensors.")
        var resume = false

        @Flag(help: "No progress output.")
        var quiet = false

        func validate() throws {
            try data.validateNames()
            guard Models.registry.names.contains(model) else {
                throw ValidationError("unknown model '\(model)'; known: \(Models.registry.names.joined(separator: ", "))")
            }
            guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
            guard lr > 0 else { throw ValidationError("--lr must be positive, got \(lr)") }
            if scheme?.passportScheme != nil && passportConfig == nil { throw ValidationError("--scheme \(scheme!.rawValue) needs --passport-config FILE") }
            if scheme?.passportScheme == nil && passportConfig != nil { throw ValidationError("--passport-config needs --scheme v1, v2 or v3") }
            if scheme?.usesTriggerSet == true && triggerSet == nil { throw ValidationError("--scheme \(scheme!.rawValue) needs --trigger-set DIR") }
            if scheme?.usesTriggerSet != true && triggerSet != nil { throw ValidationError("--trigger-set needs --scheme v3 or backdoor") }
            guard microBatches > 0 else { throw ValidationError("--micro-batches must be positive, got \(microBatches)") }
            if microBatches > data.batchSize { throw ValidationError("--micro-batches \(microBatches) is more than --batch-size \(data.batchSize): every slice needs an image") }
            guard triggerBatch > 0 else { throw ValidationError("--trigger-batch must be positive, got \(triggerBatch)") }
            if keyType != .random && pretrained == nil {
                throw ValidationError("--key-type \(keyType.rawValue) feeds images through the pretrained model: give --pretrained FILE")
            }
        }

        func run() throws {
            // Under `mpirun -np N`: data-parallel over N ranks (each global batch split between them).
            let group = MPICollective.isLaunched ? try MPICollective.world() : nil
            defer { MPICollective.finalize() }
            do { try train(group: group) } catch let error as IPRDistributedError where error.code == .disagreement {
                guard let group else { throw error }
                // Every rank has it: rank 0 says it once, and says it before any rank exits (mpirun
                // may kill the others as soon as one ends with a failure, before rank 0 has printed).
                if group.isRoot { FileHandle.standardError.write(Data("Error: \(error)\n".utf8)) }
                group.barrier()
                throw ExitCode(1)
            } catch where (group?.size ?? 1) > 1 && !(error is ExitCode) {
                // A failure on one rank alone would leave the others waiting in the next allreduce.
                FileHandle.standardError.write(Data("rank \(group!.rank) of \(group!.size): \(error)\n".utf8))
                group!.abort(code: 1)
            }
        }

        func train(group: MPICollective?) throws {
            let start = Date()
            let progress = ProgressReporter()
            progress.quiet = quiet || !(group?.isRoot ?? true)
            var request = TrainingRequest(model: model, data: data.request, out: out, epochs: epochs)
            (request.learningRate, request.momentum, request.weightDecay) = (lr, momentum, weightDecay)
            request.schedule = try lrConfig.map { try LRSchedule.load(path: $0) }
            (request.norm, request.inputSize, request.seed) = (norm, inputSize, seed)
            (request.triggerSet, request.triggerBatch, request.pretrained) = (triggerSet, triggerBatch, pretrained)
            (request.microBatches, request.resume) = (microBatches, resume)
            if let scheme = scheme?.passportScheme, let passportConfig {
                var protection = PassportProtection(scheme: scheme, config: passportConfig)
                (protection.passportSeed, protection.signLoss, protection.keyType) = (passportSeed, signLoss, keyType)
                if keyDataset != nil || keyData != nil {
                    var keys = data.request(rootName: "--key-data")
                    if let keyDataset, keyDataset != data.dataset { (keys.dataset, keys.padTo) = (keyDataset, nil) }
                    if let keyData { keys.root = keyData }   // else --data, as --key-data's help says
                    protection.keyData = keys
                }
                request.protection = protection
            }
            let result: TrainingResult
            do { result = try ProtectedTraining.run(request, group: group, progress: progress) } catch let error as WorkflowError {
                throw ValidationError(error.message)
            }
            if case .interrupted = result.outcome { throw ExitCode(130) }
            progress.line("done in \(elapsed(since: start)); best test accuracy \(String(format: "%.1f%%", 100 * result.info.bestAccuracy)); checkpoints in \(out)")
        }
    }
}

extension KeyType: ExpressibleByArgument {}
extension NormKind: ExpressibleByArgument {}
