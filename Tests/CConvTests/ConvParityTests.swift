import CConv
import Dispatch
import Foundation
import XCTest

// MARK: - Helpers

/// Deterministic uniform values in [-1, 1).
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
    }
    mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

struct Case: CustomStringConvertible {
    var n, c, h, w, oc, k, stride, pad: Int
    var kw: Int? = nil          // non-square kernel if set
    var bias: Bool

    var kh: Int { k }
    var kW: Int { kw ?? k }
    var oh: Int { (h + 2 * pad - kh) / stride + 1 }
    var ow: Int { (w + 2 * pad - kW) / stride + 1 }
    var shape: ipr_conv_shape {
        ipr_conv_shape(n: Int32(n), c: Int32(c), h: Int32(h), w: Int32(w), oc: Int32(oc),
                       kh: Int32(kh), kw: Int32(kW), stride_h: Int32(stride), stride_w: Int32(stride),
                       pad_h: Int32(pad), pad_w: Int32(pad), algorithm: -1)
    }
    var description: String {
        "n\(n) c\(c)->\(oc) \(h)x\(w) k\(kh)x\(kW) s\(stride) p\(pad)\(bias ? " +bias" : "")"
    }
}

/// Naive direct convolution in Double: forward, backward data, backward weights, bias grad.
struct Reference {
    var dst: [Double], diffSrc: [Double], diffWeight: [Double], diffBias: [Double]

    init(_ t: Case, src: [Float], weight: [Float], bias: [Float], diffDst: [Float]) {
        let (n, c, h, w, oc, kh, kw, s, p, oh, ow) = (t.n, t.c, t.h, t.w, t.oc, t.kh, t.kW, t.stride, t.pad, t.oh, t.ow)
        var dst = [Double](repeating: 0, count: n * oc * oh * ow)
        var dsrc = [Double](repeating: 0, count: n * c * h * w)
        var dw = [Double](repeating: 0, count: oc * c * kh * kw)
        var db = [Double](repeating: 0, count: oc)
        for b in 0..<n {
            for o in 0..<oc {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let di = ((b * oc + o) * oh + y) * ow + x
                        let g = Double(diffDst[di])
                        var acc = t.bias ? Double(bias[o]) : 0
                        db[o] += g
                        for ci in 0..<c {
                            for ky in 0..<kh {
                                let iy = y * s - p + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kw {
                                    let ix = x * s - p + kx
                                    if ix < 0 || ix >= w { continue }
                                    let si = ((b * c + ci) * h + iy) * w + ix
                                    let wi = ((o * c + ci) * kh + ky) * kw + kx
                                    acc += Double(src[si]) * Double(weight[wi])
                                    dsrc[si] += g * Double(weight[wi])
                                    dw[wi] += g * Double(src[si])
                                }
                            }
                        }
                        dst[di] = acc
                    }
                }
            }
        }
        self.dst = dst; diffSrc = dsrc; diffWeight = dw; diffBias = db
    }
}

/// max |got - ref| / max |ref|
func relErr(_ got: [Float], _ ref: [Double]) -> Double {
    precondition(got.count == ref.count)
    var maxDiff = 0.0, scale = 0.0
    for i in 0..<got.count {
        let g = Double(got[i])
        if !g.isFinite { return .infinity }
        maxDiff = max(maxDiff, abs(g - ref[i]))
        scale = max(scale, abs(ref[i]))
    }
    return scale == 0 ? maxDiff : maxDiff / scale
}

let tolerance = 1e-4

struct PassErrors { var fwd, bwdData, bwdWeights, bwdBias: Double; var impl: [String] }

/// Bytes per sample that the chunk budget is compared against: the larger of src and dst.
func chunkBytesPerSample(_ t: Case) -> Int { max(t.c * t.h * t.w, t.oc * t.oh * t.ow) * 4 }

/// Runs `body` with the chunk budget set to `bytes`, restoring the previous budget after.
func withChunkBudget<R>(_ bytes: Int, _ body: () throws -> R) rethrows -> R {
    let previous = ipr_conv_get_chunk_budget()
    ipr_conv_set_chunk_budget(bytes)
    defer { ipr_conv_set_chunk_budget(previous) }
    return try body()
}

func runCase(_ t: Case, algorithm: Int32, seed: UInt64) throws -> PassErrors {
    var rng = LCG(seed: seed)
    let src = rng.array(t.n * t.c * t.h * t.w)
    let weight = rng.array(t.oc * t.c * t.kh * t.kW)
    let bias = rng.array(t.oc)
    let diffDst = rng.array(t.n * t.oc * t.oh * t.ow)
    let ref = Reference(t, src: src, weight: weight, bias: bias, diffDst: diffDst)

    let previous = ipr_conv_get_algorithm()
    XCTAssertEqual(ipr_conv_set_algorithm(algorithm), 0)
    defer { ipr_conv_set_algorithm(previous) }
    var shape = t.shape

    // Outputs start as NaN so "overwrite" semantics are checked too.
    var dst = [Float](repeating: .nan, count: ref.dst.count)
    var dsrc = [Float](repeating: .nan, count: ref.diffSrc.count)
    var dw = [Float](repeating: .nan, count: ref.diffWeight.count)
    var db = [Float](repeating: .nan, count: t.oc)

    // Two rounds: the second reuses the cached primitives and scratch buffers.
    for _ in 0..<2 {
        let rf = dst.withUnsafeMutableBufferPointer { d in
            ipr_conv_forward(&shape, src, weight, t.bias ? bias : nil, d.baseAddress)
        }
        XCTAssertEqual(rf, 0, "forward status for \(t)")
        let rd = dsrc.withUnsafeMutableBufferPointer { d in
            ipr_conv_backward_data(&shape, diffDst, weight, d.baseAddress)
        }
        XCTAssertEqual(rd, 0, "backward data status for \(t)")
        let rw = dw.withUnsafeMutableBufferPointer { w in
            db.withUnsafeMutableBufferPointer { b in
                ipr_conv_backward_weights(&shape, src, diffDst, w.baseAddress, t.bias ? b.baseAddress : nil)
            }
        }
        XCTAssertEqual(rw, 0, "backward weights status for \(t)")
    }
    let impl = (0..<3).map { pass -> String in
        guard let p = ipr_conv_impl_name(&shape, Int32(pass)) else { return "?" }
        return String(cString: p)
    }
    return PassErrors(
        fwd: relErr(dst, ref.dst),
        bwdData: relErr(dsrc, ref.diffSrc),
        bwdWeights: relErr(dw, ref.diffWeight),
        bwdBias: t.bias ? relErr(db, ref.diffBias) : 0,
        impl: impl)
}

/// The outputs of one pass (0 forward, 1 backward data, 2 backward weights: weight and bias
/// gradients) of `t` with one algorithm, on seeded inputs; outputs start as NaN.
func outputs(_ t: Case, pass: Int, algorithm: Int32, seed: UInt64) -> [[Float]] {
    var rng = LCG(seed: seed)
    let src = rng.array(t.n * t.c * t.h * t.w), weight = rng.array(t.oc * t.c * t.kh * t.kW)
    let bias = rng.array(t.oc), diffDst = rng.array(t.n * t.oc * t.oh * t.ow)
    var shape = t.shape
    shape.algorithm = algorithm
    switch pass {
    case 0:
        var dst = [Float](repeating: .nan, count: diffDst.count)
        XCTAssertEqual(ipr_conv_forward(&shape, src, weight, t.bias ? bias : nil, &dst), 0)
        return [dst]
    case 1:
        var dsrc = [Float](repeating: .nan, count: src.count)
        XCTAssertEqual(ipr_conv_backward_data(&shape, diffDst, weight, &dsrc), 0)
        return [dsrc]
    default:
        var dw = [Float](repeating: .nan, count: weight.count), db = [Float](repeating: .nan, count: t.oc)
        let rc = dw.withUnsafeMutableBufferPointer { w in
            db.withUnsafeMutableBufferPointer { b in
                ipr_conv_backward_weights(&shape, src, diffDst, w.baseAddress, t.bias ? b.baseAddress : nil)
            }
        }
        XCTAssertEqual(rc, 0)
        return t.bias ? [dw, db] : [dw]
    }
}

/// Whether a call of this pass passes a bias (forward) or a bias gradient (backward weights).
func hasBias(_ t: Case, pass: Int) -> Int32 { pass != 1 && t.bias ? 1 : 0 }

let cases: [Case] = [
    Case(n: 1, c: 16, h: 10, w: 10, oc: 32, k: 3, stride: 1, pad: 1, bias: true),     // k3 s1 p1, batch 1
    Case(n: 4, c: 16, h: 10, w: 10, oc: 32, k: 3, stride: 1, pad: 1, bias: false),    // k3 s1 p1, batch 4
    Case(n: 4, c: 5, h: 9, w: 11, oc: 7, k: 5, stride: 1, pad: 2, bias: true),        // k5 s1 p2, odd channels
    Case(n: 1, c: 16, h: 12, w: 12, oc: 48, k: 5, stride: 1, pad: 2, bias: false),    // k5 s1 p2, batch 1
    Case(n: 4, c: 8, h: 12, w: 13, oc: 16, k: 3, stride: 2, pad: 1, bias: true),      // k3 s2 p1, even/odd H/W
    Case(n: 1, c: 32, h: 15, w: 15, oc: 64, k: 3, stride: 2, pad: 1, bias: false),    // k3 s2 p1, batch 1
    Case(n: 4, c: 32, h: 7, w: 7, oc: 16, k: 1, stride: 1, pad: 0, bias: true),       // k1 s1 p0
    Case(n: 1, c: 24, h: 5, w: 9, oc: 40, k: 1, stride: 1, pad: 0, bias: false),      // k1 s1 p0, non-square
    Case(n: 4, c: 3, h: 35, w: 31, oc: 16, k: 11, stride: 4, pad: 2, bias: true),     // k11 s4 p2, 3 channels
    Case(n: 1, c: 3, h: 39, w: 39, oc: 8, k: 11, stride: 4, pad: 2, bias: false),     // k11 s4 p2, batch 1
    Case(n: 4, c: 3, h: 16, w: 16, oc: 64, k: 3, stride: 1, pad: 1, bias: true),      // 3 input channels, k3
    Case(n: 4, c: 3, h: 16, w: 20, oc: 64, k: 5, stride: 1, pad: 2, bias: false),     // 3 input channels, k5
    Case(n: 1, c: 24, h: 6, w: 14, oc: 40, k: 3, stride: 1, pad: 1, bias: false),     // non-square H != W
    Case(n: 4, c: 16, h: 11, w: 7, oc: 16, k: 3, stride: 1, pad: 1, kw: 5, bias: true), // non-square kernel too
    // 3x3 stride 1 at batch >= 16: shapes with a Winograd implementation, which auto and
    // measured may run.
    Case(n: 16, c: 32, h: 8, w: 8, oc: 32, k: 3, stride: 1, pad: 1, bias: true),
    Case(n: 32, c: 64, h: 8, w: 8, oc: 64, k: 3, stride: 1, pad: 1, bias: false),
    Case(n: 16, c: 16, h: 16, w: 12, oc: 32, k: 3, stride: 1, pad: 1, bias: true),
    Case(n: 16, c: 192, h: 8, w: 8, oc: 48, k: 3, stride: 1, pad: 1, bias: true),   // deep reduction
    // Very few input channels: backward data goes through gemm with plain diff_src.
    Case(n: 16, c: 3, h: 12, w: 12, oc: 16, k: 5, stride: 1, pad: 2, bias: true),
    Case(n: 2, c: 4, h: 9, w: 7, oc: 20, k: 3, stride: 2, pad: 1, bias: false),
]

// MARK: - Tests

final class ConvParityTests: XCTestCase {
    func checkAll(algorithm: Int32) throws {
        var worst = 0.0
        for (i, t) in cases.enumerated() {
            let e = try runCase(t, algorithm: algorithm, seed: UInt64(100 + i))
            let m = max(e.fwd, e.bwdData, e.bwdWeights, e.bwdBias)
            worst = max(worst, m)
            print(String(format: "algo %d  %-40@ fwd %.2e  bwd_d %.2e  bwd_w %.2e  bwd_b %.2e  [%@ | %@ | %@]",
                         algorithm, t.description, e.fwd, e.bwdData, e.bwdWeights, e.bwdBias,
                         e.impl[0], e.impl[1], e.impl[2]))
            XCTAssertLessThanOrEqual(e.fwd, tolerance, "forward \(t) algo \(algorithm)")
            XCTAssertLessThanOrEqual(e.bwdData, tolerance, "backward data \(t) algo \(algorithm)")
            XCTAssertLessThanOrEqual(e.bwdWeights, tolerance, "backward weights \(t) algo \(algorithm)")
            XCTAssertLessThanOrEqual(e.bwdBias, tolerance, "bias grad \(t) algo \(algorithm)")
        }
        print(String(format: "algo %d worst relative error %.3e", algorithm, worst))
    }

    func testDirect() throws { try checkAll(algorithm: 0) }

    func testAuto() throws { try checkAll(algorithm: 1) }

    func testMeasured() throws { try checkAll(algorithm: 2) }


    /// The default is the rule (reproducible), unless the environment asks for another by name.
    func testDefaultAlgorithmIsTheRule() {
        let asked = ProcessInfo.processInfo.environment["IPR_CONV_ALGORITHM"].map { ipr_conv_algorithm_named($0) } ?? -1
        let expected = asked >= 0 ? asked : Int32(IPR_CONV_RULE)
        XCTAssertEqual(ipr_conv_get_algorithm(), expected)
        XCTAssertNotEqual(ipr_conv_set_algorithm(7), 0)
        XCTAssertNotEqual(ipr_conv_set_algorithm(-1), 0)
        XCTAssertEqual(ipr_conv_get_algorithm(), expected)
        XCTAssertEqual(ipr_conv_algorithm_named("rule"), Int32(IPR_CONV_RULE))
        XCTAssertEqual(ipr_conv_algorithm_named("measured"), Int32(IPR_CONV_MEASURED))
        XCTAssertEqual(ipr_conv_algorithm_named("fastest"), -1)
        XCTAssertEqual(ipr_conv_algorithm_named(nil), -1)
    }

    /// The rule on shapes it was derived from and around them: a function of the shape, the pass
    /// and whether oneDNN has Winograd there, nothing else.
    func testRuleDecisions() {
        let direct = Int32(IPR_CONV_DIRECT), auto = Int32(IPR_CONV_AUTO), winograd = Int32(IPR_CONV_WINOGRAD)
        func rule(_ t: Case, _ pass: Int32, _ available: Bool) -> Int32 { var s = t.shape; return ipr_conv_rule(&s, pass, available ? 1 : 0) }
        let stem = Case(n: 64, c: 3, h: 32, w: 32, oc: 64, k: 3, stride: 1, pad: 1, bias: false)      // ResNet-18's stem
        let deep = Case(n: 64, c: 128, h: 16, w: 16, oc: 128, k: 3, stride: 1, pad: 1, bias: false)   // its 128->128 layers
        for available in [true, false] {
            XCTAssertEqual(rule(stem, 0, available), direct, "few input channels: forward direct")
            XCTAssertEqual(rule(stem, 2, available), auto)
            XCTAssertEqual(rule(deep, 0, available), auto)
            XCTAssertEqual(rule(deep, 1, available), auto)
        }
        XCTAssertEqual(rule(deep, 2, true), winograd, "backward weights: Winograd where oneDNN has it")
        XCTAssertEqual(rule(deep, 2, false), auto)
        var small = deep; small.n = 15
        XCTAssertEqual(rule(small, 2, true), auto, "below 16 samples oneDNN itself never takes Winograd")
        var strided = deep; strided.stride = 2
        XCTAssertEqual(rule(strided, 2, true), auto)
        var five = deep; five.k = 5; five.pad = 2
        XCTAssertEqual(rule(five, 2, true), auto)
        var narrow = deep; narrow.c = Int(IPR_CONV_RULE_MIN_WINOGRAD_CHANNELS) - 1
        XCTAssertEqual(rule(narrow, 2, true), auto)
        XCTAssertEqual(rule(narrow, 0, true), direct)
        XCTAssertEqual(ipr_conv_rule(nil, 0, 1), -1)
    }

    /// On this CPU a rule call runs exactly the algorithm the rule names for it, bit for bit (and
    /// those are checked against the double-precision reference above), and that is the rule
    /// applied to what oneDNN can run here.
    func testRuleRunsItsDecisionBitForBit() throws {
        let rule = Int32(IPR_CONV_RULE)
        for (i, t) in cases.enumerated() {
            var shape = t.shape
            for pass in 0..<3 {
                let decided = ipr_conv_rule_choice(&shape, Int32(pass), hasBias(t, pass: pass))
                var probe = t.shape
                probe.algorithm = Int32(IPR_CONV_WINOGRAD)
                let available = ipr_conv_impl_name(&probe, Int32(pass)) != nil
                XCTAssertEqual(decided, ipr_conv_rule(&shape, Int32(pass), available ? 1 : 0), "\(t) pass \(pass)")
                XCTAssertEqual(outputs(t, pass: pass, algorithm: rule, seed: UInt64(700 + i)),
                               outputs(t, pass: pass, algorithm: decided, seed: UInt64(700 + i)), "\(t) pass \(pass)")
            }
        }
    }

    /// Timing never decides numerics by default: running every case with the process default times
    /// nothing. The opt-in measured algorithm does time, wherever it has two candidates.
    func testTheDefaultNeverTimes() throws {
        guard ProcessInfo.processInfo.environment["IPR_CONV_ALGORITHM"] == nil else { throw XCTSkip("IPR_CONV_ALGORITHM is set") }
        ipr_conv_clear_cache()
        let before = ipr_conv_timed_runs()
        for (i, t) in cases.enumerated() {
            for pass in 0..<3 { _ = outputs(t, pass: pass, algorithm: Int32(IPR_CONV_DEFAULT), seed: UInt64(300 + i)) }
        }
        XCTAssertEqual(ipr_conv_timed_runs(), before, "the default algorithm timed a convolution")

        // Teeth: where this CPU has Winograd for a case, the measured algorithm times it.
        ipr_conv_clear_cache()
        let winogradCase = cases.first { t in
            var s = t.shape
            s.algorithm = Int32(IPR_CONV_WINOGRAD)
            return (0..<3).allSatisfy { ipr_conv_impl_name(&s, Int32($0)) != nil }
        }
        guard let t = winogradCase else { print("no Winograd on this CPU: the measured algorithm has nothing to time"); return }
        let untimed = ipr_conv_timed_runs()
        for pass in 0..<3 { _ = outputs(t, pass: pass, algorithm: Int32(IPR_CONV_MEASURED), seed: 1) }
        XCTAssertGreaterThan(ipr_conv_timed_runs(), untimed, "measured \(t)")
    }

    /// A measured run's choices kept in a file are what a second run reads back and repeats, without
    /// timing again; a malformed file is refused whole.
    func testMeasuredChoicesFileRepeatsARun() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-choices-\(UUID()).txt").path
        defer { ipr_conv_measured_use_file(nil); try? FileManager.default.removeItem(atPath: path) }
        ipr_conv_clear_cache()
        XCTAssertEqual(ipr_conv_measured_use_file(path), 0)
        let measured = Int32(IPR_CONV_MEASURED)
        for (i, t) in cases.enumerated() { for pass in 0..<3 { _ = outputs(t, pass: pass, algorithm: measured, seed: UInt64(400 + i)) } }
        func choices() -> [Int32] {
            cases.flatMap { t -> [Int32] in
                var s = t.shape
                return (0..<3).map { pass in ipr_conv_measured_choice(&s, Int32(pass), hasBias(t, pass: pass)) }
            }
        }
        let first = choices()
        XCTAssertFalse(first.contains(-1))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(lines.count, cases.count * 3)

        ipr_conv_clear_cache()
        XCTAssertEqual(choices(), [Int32](repeating: -1, count: first.count), "cleared")
        XCTAssertEqual(ipr_conv_measured_use_file(path), 0)
        XCTAssertEqual(choices(), first, "read back before any call")
        let timed = ipr_conv_timed_runs()
        for (i, t) in cases.enumerated() { for pass in 0..<3 { _ = outputs(t, pass: pass, algorithm: measured, seed: UInt64(400 + i)) } }
        XCTAssertEqual(ipr_conv_timed_runs(), timed, "a repeated run times nothing")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }.count, lines.count)

        let bad = path + ".bad"
        defer { try? FileManager.default.removeItem(atPath: bad) }
        for text in ["1 2 3\n", "16 32 8 8 32 3 3 1 1 1 1 0 1 9\n", "16 32 8 8 32 3 3 1 1 1 1 0 1 1 7\n", "16 32 8 8 32 3 3 1 1 1 1 0 1 1\nx\n"] {
            try text.write(toFile: bad, atomically: true, encoding: .utf8)
            ipr_conv_clear_cache()
            XCTAssertEqual(ipr_conv_measured_use_file(bad), 2, text)
            XCTAssertEqual(choices(), [Int32](repeating: -1, count: first.count), "nothing read from \(text)")
        }
    }

    /// Winograd where oneDNN has it (3x3 stride 1; per pass, per ISA) matches the reference;
    /// elsewhere the call fails with a status rather than running something else.
    func testWinogradWhereAvailable() throws {
        let winograd = Int32(IPR_CONV_WINOGRAD)
        var ran = 0
        for (i, t) in cases.enumerated() {
            var shape = t.shape
            shape.algorithm = winograd
            let available = (0..<3).map { ipr_conv_impl_name(&shape, Int32($0)) != nil }
            if t.k != 3 || t.kW != 3 || t.stride != 1 {
                XCTAssertEqual(available, [false, false, false], "\(t): Winograd F(4,3) exists for 3x3 stride 1 only")
                var out = [Float](repeating: 0, count: t.n * t.oc * t.oh * t.ow)
                let src = [Float](repeating: 0, count: t.n * t.c * t.h * t.w)
                let w = [Float](repeating: 0, count: t.oc * t.c * t.kh * t.kW)
                XCTAssertNotEqual(ipr_conv_forward(&shape, src, w, nil, &out), 0, "\(t)")
                continue
            }
            guard !available.contains(false) else { continue }   // not on this ISA or layout: nothing to check
            let e = try runCase(t, algorithm: winograd, seed: UInt64(100 + i))
            XCTAssertLessThanOrEqual(max(e.fwd, e.bwdData, e.bwdWeights, e.bwdBias), tolerance, "winograd \(t)")
            ran += 1
        }
        print("winograd ran on \(ran) shapes")
    }

    /// A measured call decides once, on its first call, and from then on gives exactly the results
    /// of the algorithm it kept: bit for bit, whichever that is on this CPU.
    func testMeasuredKeepsOneAlgorithmAndMatchesIt() throws {
        let measured = Int32(IPR_CONV_MEASURED)
        let concrete = [IPR_CONV_DIRECT, IPR_CONV_AUTO, IPR_CONV_WINOGRAD].map { Int32($0) }
        for (i, t) in cases.enumerated() {
            func run(_ pass: Int, _ algorithm: Int32) -> [[Float]] { outputs(t, pass: pass, algorithm: algorithm, seed: UInt64(900 + i)) }
            var shape = t.shape
            shape.algorithm = measured
            for pass in 0..<3 {
                let first = run(pass, measured)
                let kept = ipr_conv_measured_choice(&shape, Int32(pass), hasBias(t, pass: pass))
                XCTAssertTrue(concrete.contains(kept), "\(t) pass \(pass): decided after one call: \(kept)")
                let again = run(pass, measured)
                XCTAssertEqual(ipr_conv_measured_choice(&shape, Int32(pass), hasBias(t, pass: pass)), kept, "\(t) pass \(pass): fixed")
                let explicit = run(pass, kept)
                XCTAssertEqual(first, explicit, "\(t) pass \(pass): first measured call")
                XCTAssertEqual(again, explicit, "\(t) pass \(pass): later measured call")
            }
        }
    }

    /// The rule that keeps a run's choices stable: the other algorithm must win by the margin.
    func testMeasuredRuleNeedsAClearWin() {
        XCTAssertEqual(ipr_conv_measured_prefers_alternative(10, 9), 0)     // 10 % faster: noise
        XCTAssertEqual(ipr_conv_measured_prefers_alternative(10, 8.4), 0)   // 1.19x: not enough
        XCTAssertNotEqual(ipr_conv_measured_prefers_alternative(10, 8.2), 0)
        XCTAssertNotEqual(ipr_conv_measured_prefers_alternative(5.6, 1.7), 0)
        XCTAssertEqual(ipr_conv_measured_prefers_alternative(1.7, 5.6), 0)
        XCTAssertNotEqual(ipr_conv_measured_prefers_alternative(.infinity, 3), 0)   // a failed run loses
        XCTAssertEqual(ipr_conv_measured_prefers_alternative(3, .infinity), 0)
    }

    /// Repeated calls of a shape create no primitive: they run the cached one.
    func testRepeatedCallsReuseTheCachedPrimitives() throws {
        for algorithm: Int32 in [0, 1, 2, 4] {
            let t = Case(n: 17, c: 8, h: 9, w: 9, oc: 24, k: 3, stride: 1, pad: 1, bias: true)
            _ = try runCase(t, algorithm: algorithm, seed: 1)
            let created = ipr_conv_primitives_created()
            for seed: UInt64 in 2...4 { _ = try runCase(t, algorithm: algorithm, seed: seed) }
            XCTAssertEqual(ipr_conv_primitives_created(), created, "algo \(algorithm)")
        }
    }

    func testInvalidArguments() {
        var bad = ipr_conv_shape(n: 1, c: 3, h: 4, w: 4, oc: 8, kh: 7, kw: 7, stride_h: 1, stride_w: 1, pad_h: 0, pad_w: 0, algorithm: -1)
        var out = [Float](repeating: 0, count: 64)
        let inp = [Float](repeating: 0, count: 64)
        XCTAssertNotEqual(ipr_conv_forward(&bad, inp, inp, nil, &out), 0)
        var ok = ipr_conv_shape(n: 1, c: 3, h: 4, w: 4, oc: 8, kh: 3, kw: 3, stride_h: 1, stride_w: 1, pad_h: 1, pad_w: 1, algorithm: -1)
        XCTAssertNotEqual(ipr_conv_forward(&ok, nil, inp, nil, &out), 0)
        XCTAssertNil(ipr_conv_impl_name(&ok, 3))
    }

    // MARK: Batch chunking

    /// Shapes run in chunks of samples under a small budget, N not a multiple of the chunk:
    /// (case, max samples per chunk the budget allows). Chunks are balanced and keep >= 16
    /// samples when N >= 16, so e.g. 37 with a limit of 16 runs as 19 + 18.
    static let chunkedCases: [(Case, Int)] = [
        (Case(n: 5, c: 8, h: 6, w: 6, oc: 16, k: 3, stride: 1, pad: 1, bias: true), 2),       // 2+2+1
        (Case(n: 7, c: 16, h: 10, w: 10, oc: 32, k: 3, stride: 1, pad: 1, bias: false), 3),   // 3+2+2
        (Case(n: 11, c: 8, h: 12, w: 13, oc: 16, k: 3, stride: 2, pad: 1, bias: true), 4),    // s2, 4+4+3
        (Case(n: 10, c: 32, h: 7, w: 7, oc: 16, k: 1, stride: 1, pad: 0, bias: false), 4),    // k1, 4+3+3
        (Case(n: 7, c: 3, h: 16, w: 16, oc: 16, k: 5, stride: 1, pad: 2, bias: true), 3),     // C=3: gemm bwd data
        (Case(n: 7, c: 4, h: 9, w: 7, oc: 20, k: 3, stride: 2, pad: 1, bias: false), 4),      // 4+3
        (Case(n: 37, c: 16, h: 8, w: 8, oc: 32, k: 3, stride: 1, pad: 1, bias: true), 16),    // Winograd-eligible: 19+18
        (Case(n: 50, c: 32, h: 8, w: 8, oc: 32, k: 3, stride: 1, pad: 1, bias: false), 16),   // 17+17+16
        (Case(n: 41, c: 192, h: 4, w: 4, oc: 48, k: 3, stride: 1, pad: 1, bias: true), 1),    // limit < 16: 21+20
    ]

    func checkChunked(algorithm: Int32) throws {
        for (i, (t, maxChunk)) in Self.chunkedCases.enumerated() {
            let budget = maxChunk * chunkBytesPerSample(t)
            XCTAssertGreaterThan(t.n * chunkBytesPerSample(t), budget, "\(t) must be chunked")
            let e = try withChunkBudget(budget) {
                try runCase(t, algorithm: algorithm, seed: UInt64(300 + i))
            }
            print(String(format: "chunked algo %d  %-40@ max %2d  fwd %.2e  bwd_d %.2e  bwd_w %.2e  bwd_b %.2e  [%@ | %@ | %@]",
                         algorithm, t.description, maxChunk, e.fwd, e.bwdData, e.bwdWeights, e.bwdBias,
                         e.impl[0], e.impl[1], e.impl[2]))
            XCTAssertLessThanOrEqual(e.fwd, tolerance, "chunked forward \(t) algo \(algorithm)")
            XCTAssertLessThanOrEqual(e.bwdData, tolerance, "chunked backward data \(t) algo \(algorithm)")
            XCTAssertLessThanOrEqual(e.bwdWeights, tolerance, "chunked backward weights \(t) algo \(algorithm)")
            XCTAssertLessThanOrEqual(e.bwdBias, tolerance, "chunked bias grad \(t) algo \(algorithm)")
        }
        XCTAssertEqual(ipr_conv_get_chunk_budget(), Int(IPR_CONV_DEFAULT_CHUNK_BUDGET))
    }

    func testChunkedDirect() throws { try checkChunked(algorithm: 0) }

    func testChunkedAuto() throws { try checkChunked(algorithm: 1) }

    /// Budget equal to the activation size, so only the scratchpad rule can split these calls
    /// (with auto, oneDNN's Winograd needs several MB of blocked copies and scratch here, over
    /// 4 x budget, so they run as two chunks of >= 16, e.g. 17 + 16); results must match.
    func testScratchDrivenChunking() throws {
        let shapes = [
            Case(n: 33, c: 16, h: 4, w: 4, oc: 32, k: 3, stride: 1, pad: 1, bias: true),
            Case(n: 34, c: 24, h: 8, w: 8, oc: 24, k: 3, stride: 1, pad: 1, bias: false),
            Case(n: 35, c: 32, h: 6, w: 6, oc: 16, k: 3, stride: 1, pad: 1, bias: true),
        ]
        for algorithm: Int32 in [0, 1] {
            for (i, t) in shapes.enumerated() {
                let e = try withChunkBudget(t.n * chunkBytesPerSample(t)) {
                    try runCase(t, algorithm: algorithm, seed: UInt64(500 + i))
                }
                let m = max(e.fwd, e.bwdData, e.bwdWeights, e.bwdBias)
                print(String(format: "scratch-chunked algo %d  %-40@ worst %.2e  [%@ | %@ | %@]",
                             algorithm, t.description, m, e.impl[0], e.impl[1], e.impl[2]))
                XCTAssertLessThanOrEqual(m, tolerance, "\(t) algo \(algorithm)")
            }
        }
        XCTAssertEqual(ipr_conv_get_chunk_budget(), Int(IPR_CONV_DEFAULT_CHUNK_BUDGET))
    }

    /// Chunked and whole-batch calls agree with each other (not only with the reference),
    /// with and without bias; budget 0 never chunks.
    func testChunkedEqualsWholeBatch() throws {
        for bias in [false, true] {
            for algorithm: Int32 in [0, 1] {
                let t = Case(n: 35, c: 16, h: 9, w: 9, oc: 24, k: 3, stride: 1, pad: 1, bias: bias)
                var rng = LCG(seed: 77)
                let src = rng.array(t.n * t.c * t.h * t.w)
                let weight = rng.array(t.oc * t.c * t.kh * t.kW)
                let biasV = rng.array(t.oc)
                let diffDst = rng.array(t.n * t.oc * t.oh * t.ow)
                var shape = t.shape
                shape.algorithm = algorithm
                func run(budget: Int) -> [[Float]] {
                    withChunkBudget(budget) {
                        var dst = [Float](repeating: .nan, count: t.n * t.oc * t.oh * t.ow)
                        var dsrc = [Float](repeating: .nan, count: src.count)
                        var dw = [Float](repeating: .nan, count: weight.count)
                        var db = [Float](repeating: .nan, count: t.oc)
                        XCTAssertEqual(ipr_conv_forward(&shape, src, weight, bias ? biasV : nil, &dst), 0)
                        XCTAssertEqual(ipr_conv_backward_data(&shape, diffDst, weight, &dsrc), 0)
                        let rw = dw.withUnsafeMutableBufferPointer { w in
                            db.withUnsafeMutableBufferPointer { b in
                                ipr_conv_backward_weights(&shape, src, diffDst, w.baseAddress, bias ? b.baseAddress : nil)
                            }
                        }
                        XCTAssertEqual(rw, 0)
                        return bias ? [dst, dsrc, dw, db] : [dst, dsrc, dw]
                    }
                }
                let whole = run(budget: 0)
                let chunked = run(budget: 16 * chunkBytesPerSample(t))   // 35 = 18 + 17
                for (k, (a, b)) in zip(whole, chunked).enumerated() {
                    let err = relErr(b, a.map(Double.init))
                    XCTAssertLessThanOrEqual(err, 1e-5, "output \(k) bias \(bias) algo \(algorithm)")
                }
            }
        }
        XCTAssertEqual(ipr_conv_get_chunk_budget(), Int(IPR_CONV_DEFAULT_CHUNK_BUDGET))
    }

    /// How calls are split: balanced chunks (sizes differ by at most one) that cover the batch and,
    /// when N >= 16, never go below 16 samples — oneDNN's auto selects Winograd only from batch 16,
    /// so chunking never takes a shape below the batch at which it could have run Winograd.
    func testChunkPlans() {
        // (case, budget in samples of chunkBytesPerSample (0 = the default budget), chunks, largest, smallest)
        let expected: [(Case, Int, Int, Int, Int)] = [
            (Case(n: 256, c: 64, h: 32, w: 32, oc: 64, k: 3, stride: 1, pad: 1, bias: false), 0, 4, 64, 64),
            (Case(n: 256, c: 64, h: 32, w: 32, oc: 64, k: 3, stride: 1, pad: 1, bias: false), -1, 16, 16, 16),
            (Case(n: 40, c: 64, h: 32, w: 32, oc: 64, k: 3, stride: 1, pad: 1, bias: false), -1, 2, 20, 20),
            (Case(n: 37, c: 16, h: 8, w: 8, oc: 32, k: 3, stride: 1, pad: 1, bias: true), 16, 2, 19, 18),
            (Case(n: 50, c: 32, h: 8, w: 8, oc: 32, k: 3, stride: 1, pad: 1, bias: false), 16, 3, 17, 16),
            (Case(n: 7, c: 16, h: 10, w: 10, oc: 32, k: 3, stride: 1, pad: 1, bias: false), 3, 3, 3, 2),
            (Case(n: 5, c: 8, h: 6, w: 6, oc: 16, k: 3, stride: 1, pad: 1, bias: true), 2, 3, 2, 1),
            (Case(n: 64, c: 192, h: 8, w: 8, oc: 384, k: 3, stride: 1, pad: 1, bias: true), 0, 1, 64, 64),
        ]
        for (t, samples, count, largest, smallest) in expected {
            let budget = samples == 0 ? Int(IPR_CONV_DEFAULT_CHUNK_BUDGET) : samples < 0 ? 1 : samples * chunkBytesPerSample(t)
            for algorithm: Int32 in [0, 1, 2, 4] {
                var shape = t.shape
                shape.algorithm = algorithm
                for pass: Int32 in 0..<3 {
                    var c: Int32 = 0, big: Int32 = 0, small: Int32 = 0
                    let rc = withChunkBudget(budget) { ipr_conv_chunk_plan(&shape, pass, &c, &big, &small) }
                    XCTAssertEqual(rc, 0)
                    let what = "\(t) algo \(algorithm) pass \(pass) budget \(budget)"
                    // The activation rule is exact; the scratchpad rule (ipr_conv_set_chunk_budget)
                    // may only split further, never below 16 samples.
                    XCTAssertGreaterThanOrEqual(Int(c), count, what)
                    if Int(c) == count { XCTAssertEqual([Int(big), Int(small)], [largest, smallest], what) }
                    XCTAssertLessThanOrEqual(big - small, 1, what)
                    XCTAssertLessThanOrEqual(Int(small) * Int(c), t.n, what)
                    XCTAssertGreaterThanOrEqual(Int(big) * Int(c), t.n, what)
                    if t.n >= 16 { XCTAssertGreaterThanOrEqual(small, 16, what) }
                }
            }
        }
    }

    func testChunkBudgetDefault() {
        XCTAssertEqual(ipr_conv_get_chunk_budget(), Int(IPR_CONV_DEFAULT_CHUNK_BUDGET))
        XCTAssertEqual(IPR_CONV_DEFAULT_CHUNK_BUDGET, 16 << 20)
    }

    /// More distinct shapes than the cache holds (96): exercises LRU eviction,
    /// arena growth and clear_cache; results must stay correct throughout.
    func testCacheEvictionAndClear() {
        func check(_ t: Case, seed: UInt64) -> Double {
            var rng = LCG(seed: seed)
            let src = rng.array(t.n * t.c * t.h * t.w)
            let weight = rng.array(t.oc * t.c * t.kh * t.kW)
            let bias = rng.array(t.oc)
            let ref = Reference(t, src: src, weight: weight, bias: bias,
                                diffDst: [Float](repeating: 0, count: t.n * t.oc * t.oh * t.ow))
            var shape = t.shape
            var dst = [Float](repeating: .nan, count: ref.dst.count)
            let rc = ipr_conv_forward(&shape, src, weight, bias, &dst)
            return rc == 0 ? relErr(dst, ref.dst) : .infinity
        }
        var worst = 0.0
        for i in 0..<110 {
            let t = Case(n: 1 + i % 3, c: 4 + i % 5, h: 5 + i, w: 6, oc: 8, k: 3, stride: 1 + i % 2, pad: 1, bias: true)
            worst = max(worst, check(t, seed: UInt64(i)))
        }
        // The earliest shapes were evicted; they must be re-created correctly.
        worst = max(worst, check(Case(n: 1, c: 4, h: 5, w: 6, oc: 8, k: 3, stride: 1, pad: 1, bias: true), seed: 1))
        ipr_conv_clear_cache()
        worst = max(worst, check(cases[0], seed: 3))
        XCTAssertLessThanOrEqual(worst, tolerance)
    }

    /// Different shapes from several threads at once; each result must still match.
    func testConcurrentCallers() {
        let picks = [0, 2, 4, 6, 8, 12]
        var results = [Double](repeating: .infinity, count: picks.count)
        results.withUnsafeMutableBufferPointer { r in
            nonisolated(unsafe) let rp = r   // each iteration writes its own index
            DispatchQueue.concurrentPerform(iterations: picks.count) { j in
                let t = cases[picks[j]]
                var rng = LCG(seed: UInt64(7 + j))
                let src = rng.array(t.n * t.c * t.h * t.w)
                let weight = rng.array(t.oc * t.c * t.kh * t.kW)
                let bias = rng.array(t.oc)
                let ref = Reference(t, src: src, weight: weight, bias: bias,
                                    diffDst: [Float](repeating: 0, count: t.n * t.oc * t.oh * t.ow))
                var shape = t.shape
                var dst = [Float](repeating: .nan, count: ref.dst.count)
                var worst = 0.0
                for _ in 0..<5 {
                    let rc = ipr_conv_forward(&shape, src, weight, t.bias ? bias : nil, &dst)
                    worst = max(worst, rc == 0 ? relErr(dst, ref.dst) : .infinity)
                }
                rp[j] = worst
            }
        }
        for (j, e) in results.enumerated() {
            XCTAssertLessThanOrEqual(e, tolerance, "concurrent \(cases[picks[j]])")
        }
    }
}
