// iprbench: engine micro-benchmarks, printed as one JSON object per line so `Tools/bench/run`
// can interleave them with the PyTorch baseline (`Tools/bench/torch_bench.py`) and compare medians.
//
//   iprbench conv  [--reps N] [--batch N]   forward+backward of each AlexNet-CIFAR conv shape
//   iprbench stack [--reps N] [--batch N]   the AlexNet-CIFAR conv→BN→ReLU→pool feature stack, fwd+bwd
//   iprbench train [--batch 64] [--input 32] AlexNet and ResNet-18 training steps (fwd, loss, bwd, SGD); --input 224: the ImageNet models
//   iprbench infer [--batch 256]            the same models in evaluation mode
//   iprbench passport [--batch 64]          AlexNet plain / V1 / V2 training steps, plain vs V1 inference
//   iprbench loader                         images/s of the CIFAR train transform through the loader, one core
//   iprbench loader224 --photos DIR         images/s of the ImageNet transforms on DIR's JPEGs: full / scaled decoding, 1 / 2 workers
//   iprbench ops | gemm                     memory-bound ops; conv-shaped GEMMs (OpenBLAS kernel choice)
//   iprbench info                           BLAS kernel, threads, convolution kernels
//   iprbench convalgo [--batch 64]          every conv of AlexNet and ResNet-18: oneDNN's kernel and time per algorithm
//   --only SUFFIX                           train, infer, passport, convalgo: only the models whose name ends with SUFFIX
//   --conv-algorithm rule|measured|auto|direct|winograd   the convolution algorithm (default rule), to compare them
import Foundation
import IPRData
import IPRModels
import IPRPassport
import IPRTensor

ProcessTuning.apply()
if let i = CommandLine.arguments.firstIndex(of: "--conv-algorithm") {
    guard i + 1 < CommandLine.arguments.count, let algorithm = OneDNNConvolution.Algorithm(name: CommandLine.arguments[i + 1]) else {
        FileHandle.standardError.write(Data("--conv-algorithm takes \(OneDNNConvolution.Algorithm.names.joined(separator: ", "))\n".utf8))
        exit(2)
    }
    Convolution.kernels = OneDNNConvolution(algorithm: algorithm)
}

struct ConvShape { let name: String; let c, oc, k, pad, hw: Int }
/// AlexNet for 32×32 inputs (the reference's): conv1 at 32×32, conv2 at 16×16, conv3–5 at 8×8.
let alexnetConvs = [
    ConvShape(name: "conv1 3→64 k5 32×32", c: 3, oc: 64, k: 5, pad: 2, hw: 32),
    ConvShape(name: "conv2 64→192 k5 16×16", c: 64, oc: 192, k: 5, pad: 2, hw: 16),
    ConvShape(name: "conv3 192→384 k3 8×8", c: 192, oc: 384, k: 3, pad: 1, hw: 8),
    ConvShape(name: "conv4 384→256 k3 8×8", c: 384, oc: 256, k: 3, pad: 1, hw: 8),
    ConvShape(name: "conv5 256→256 k3 8×8", c: 256, oc: 256, k: 3, pad: 1, hw: 8),
]

func option(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return value }
    return v
}

/// `--only SUFFIX` restricts a multi-model benchmark to the runs whose name ends with SUFFIX.
func selected(_ name: String) -> Bool {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: "--only"), i + 1 < args.count else { return true }
    return name.hasSuffix(args[i + 1])
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }

/// Median wall time in ms of `body` over `reps` runs after one warm-up.
func measure(reps: Int, _ body: () -> Void) -> (median: Double, samples: [Double]) {
    body()
    var samples: [Double] = []
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    return (median(samples), samples)
}

/// Peak resident set size of this process so far (VmHWM), in MiB.
func peakResidentMB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

let command = CommandLine.arguments.dropFirst().first ?? "info"
let reps = option("--reps", default: 10), batch = option("--batch", default: 64)
var rng = RNG(seed: 0)

switch command {
case "info":
    let env = ["OPENBLAS_CORETYPE", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT"].map { "\($0)=\(ProcessInfo.processInfo.environment[$0] ?? "")" }
    emit(["engine": "swift", "blas_core": BLASInfo.coreName, "blas_threads": BLASInfo.threads,
          "conv_kernels": Convolution.kernels.name, "threads": Parallelism.threads, "env": env.joined(separator: " ")])
case "conv":
    for s in alexnetConvs {
        let x = Tensor.normal([batch, s.c, s.hw, s.hw], rng: &rng)
        let conv = Conv2d(s.c, s.oc, kernel: s.k, padding: s.pad, rng: &rng)
        x.requiresGrad = true
        let gy = Tensor.normal([batch, s.oc, s.hw, s.hw], rng: &rng)
        let r = measure(reps: reps) {
            let y = conv(x, .train)
            y.backward(gy)
        }
        let flops = 3 * ConvGeometry(n: batch, c: s.c, h: s.hw, w: s.hw, oc: s.oc, kh: s.k, kw: s.k, padH: s.pad, padW: s.pad).flops
        emit(["engine": "swift", "bench": "conv", "name": s.name, "median_ms": r.median, "samples_ms": r.samples,
              "gflops": flops / r.median / 1e6])
    }
case "stack":
    var layers: [any Layer] = []
    for (i, s) in alexnetConvs.enumerated() {
        layers += [Conv2d(s.c, s.oc, kernel: s.k, padding: s.pad, bias: false, rng: &rng), BatchNorm2d(s.oc), ReLU()]
        if i == 0 || i == 1 || i == 4 { layers.append(MaxPool2d(kernel: 2)) }
    }
    let net = Sequential(layers)
    let x = Tensor.normal([batch, 3, 32, 32], rng: &rng)
    let r = measure(reps: reps) {
        let y = net(x, .train)
        y.sum().backward()
    }
    emit(["engine": "swift", "bench": "stack", "name": "AlexNet conv→BN→ReLU→pool stack", "median_ms": r.median,
          "samples_ms": r.samples])
case "ops":
    // Memory-bound ops at the size of AlexNet's first activation (64×64×32×32 floats).
    let x = Tensor.normal([batch, 64, 32, 32], rng: &rng), y = Tensor.normal([batch, 64, 32, 32], rng: &rng)
    let bnW = Tensor.ones([64]), bnB = Tensor.zeros([64])
    let cases: [(String, () -> Void)] = [
        ("relu", { _ = noGrad { x.relu() } }),
        ("add", { _ = noGrad { x + y } }),
        ("add channel bias", { _ = noGrad { x + bnB.reshape([1, 64, 1, 1]) } }),
        ("sum", { _ = noGrad { x.sum() } }),
        ("batchnorm train fwd", { _ = noGrad { batchNorm(x, runningMean: nil, runningVar: nil, weight: bnW, bias: bnB, training: true) } }),
        ("maxpool2 fwd", { _ = noGrad { maxPool2d(x, kernel: 2) } }),
        ("relu fwd+bwd", { x.requiresGrad = true; x.relu().backward(y); x.requiresGrad = false; x.grad = nil }),
        ("batchnorm fwd+bwd", { x.requiresGrad = true; batchNorm(x, runningMean: nil, runningVar: nil, weight: bnW, bias: bnB, training: true).backward(y); x.requiresGrad = false; x.grad = nil }),
        ("maxpool fwd+bwd", { x.requiresGrad = true; maxPool2d(x, kernel: 2).backward(Tensor.ones([batch, 64, 16, 16])); x.requiresGrad = false; x.grad = nil }),
    ]
    for (name, body) in cases {
        let r = measure(reps: reps, body)
        emit(["engine": "swift", "bench": "ops", "name": name, "median_ms": r.median, "samples_ms": r.samples])
    }
case "train", "infer":
    // Training step (forward, cross-entropy, backward, SGD with momentum and weight decay) at
    // --batch, or inference at 4× --batch, of the reference architectures on 32×32 inputs.
    let inferBatch = command == "infer" ? option("--batch", default: 256) : batch
    let size = option("--input", default: 32)
    for arch in ["alexnet", "resnet18"] where selected(arch) {
        let model = try! Models.make(arch, config: ModelConfig(classes: 10, inputSize: size), seed: 1)
        let x = Tensor.normal([inferBatch, 3, size, size], rng: &rng)
        let labels = (0..<inferBatch).map { $0 % 10 }
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
        let r = measure(reps: reps) {
            if command == "train" {
                sgd.zeroGrad()
                crossEntropy(model(x, .train), labels: labels).backward()
                sgd.step()
            } else {
                _ = noGrad { model(x, .eval) }
            }
        }
        emit(["engine": "swift", "bench": command, "name": "\(arch) batch \(inferBatch)" + (size != 32 ? " at \(size)" : ""), "median_ms": r.median,
              "samples_ms": r.samples, "images_per_s": Double(inferBatch) / r.median * 1000, "peak_rss_mb": peakResidentMB(),
              "peak_tensor_mb": Double(BufferPool.shared.statistics.peakLiveBytes) / 1048576])
    }
case "convalgo":
    try! runConvAlgorithmBench(reps: reps, batch: batch, selected: selected, emit: emit)
case "loader":
    try! runLoaderBench(reps: reps, batch: batch, emit: emit)
case "loader224":
    guard let i = CommandLine.arguments.firstIndex(of: "--photos"), i + 1 < CommandLine.arguments.count else {
        FileHandle.standardError.write(Data("loader224 needs --photos DIR (DIR/<class>/*.jpg; Tools/bench/make_photos.py makes them)\n".utf8))
        exit(2)
    }
    try! runPhotoLoaderBench(reps: reps, batch: batch, photos: CommandLine.arguments[i + 1], emit: emit)
case "passport":
    // Scheme training steps on AlexNet-CIFAR with the reference passport layout (layers 4, 5, 6) at
    // --batch, next to the plain step, and V1 inference against plain inference.
    let config = ModelConfig(classes: 10)
    let passports = try! PassportConfig.parse(#"{"0": false, "2": false, "4": true, "5": true, "6": true}"#)
    let x = Tensor.normal([batch, 3, 32, 32], rng: &rng)
    let labels = (0..<batch).map { $0 % 10 }
    let runs: [(String, any Layer, any TrainingObjective)] = [
        ("alexnet plain", try! Models.make("alexnet", config: config, seed: 1), CrossEntropyObjective()),
        ("alexnet v1", try! PassportBlockFactory.makeModel("alexnet", config: config, scheme: .v1, passports: passports, seed: 1, passportSeed: 1).model, PassportObjective()),
        ("alexnet v2", try! PassportBlockFactory.makeModel("alexnet", config: config, scheme: .v2, passports: passports, seed: 1, passportSeed: 1).model, PrivatePassportObjective()),
    ]
    for (name, model, objective) in runs where selected(name) {
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
        let train = measure(reps: reps) {
            sgd.zeroGrad()
            objective.step(model: model, images: x, labels: labels).loss.backward()
            sgd.step()
        }
        emit(["engine": "swift", "bench": "passport-train", "name": "\(name) batch \(batch)", "median_ms": train.median,
              "samples_ms": train.samples])
        guard !name.hasSuffix("v2") else { continue }
        let infer = measure(reps: reps) { _ = noGrad { model(x, .eval) } }
        emit(["engine": "swift", "bench": "passport-infer", "name": "\(name) batch \(batch)", "median_ms": infer.median,
              "samples_ms": infer.samples])
    }
case "gemm":
    // The conv-shaped GEMM where OpenBLAS kernel choice matters most (measured: BENCHMARKS.md).
    for (m, n, k) in [(192, 16384, 1600), (384, 4096, 1728), (1024, 1024, 1024)] {
        let a = Tensor.normal([m, k], rng: &rng), b = Tensor.normal([k, n], rng: &rng)
        let r = measure(reps: reps) { _ = noGrad { a.matmul(b) } }
        emit(["engine": "swift", "bench": "gemm", "name": "sgemm \(m)×\(n)×\(k)", "median_ms": r.median,
              "samples_ms": r.samples, "gflops": 2 * Double(m * n * k) / r.median / 1e6, "blas_core": BLASInfo.coreName])
    }
default:
    FileHandle.standardError.write(Data("usage: iprbench info | conv | stack | train | infer | passport | convalgo | loader | loader224 --photos DIR | ops | gemm [--reps N] [--batch N] [--only SUFFIX] [--conv-algorithm direct|auto|measured]\n".utf8))
    exit(2)
}

