import Foundation

// The statistics an ownership verdict rests on, shared by white-box (signature) and black-box
// (trigger-set) verification.

/// P(X ≥ successes) for X ~ Binomial(trials, p), summed in log space (stable for thousands of bits).
public func binomialTail(successes k: Int, trials n: Int, p: Double = 0.5) -> Double {
    guard k > 0 else { return 1 }
    guard k <= n else { return 0 }
    let logP = log(p), logQ = log1p(-p), logNFactorial = logGamma(Double(n + 1))
    let logs: [Double] = (k...n).map { i in
        let choose = logNFactorial - logGamma(Double(i + 1)) - logGamma(Double(n - i + 1))
        return choose + Double(i) * logP + Double(n - i) * logQ
    }
    let m = logs.max()!
    return min(1, exp(m) * logs.reduce(0) { $0 + exp($1 - m) })
}

/// The empirical p-value of `observed` against draws of a null distribution, (1 + #null ≥ observed)
/// / (1 + n): never 0, and never below 1 / (1 + n), the resolution that n draws give.
public func empiricalPValue(_ observed: Double, null: [Double]) -> Double {
    Double(1 + null.filter { $0 >= observed }.count) / Double(1 + null.count)
}

/// log Γ(x) (Glibc's reentrant `lgamma_r`; plain `lgamma` is ambiguous between overlays).
private func logGamma(_ x: Double) -> Double {
    var sign: Int32 = 0
    return lgamma_r(x, &sign)
}
