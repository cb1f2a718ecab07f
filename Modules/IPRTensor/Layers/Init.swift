/// Weight initialisers with PyTorch's formulas.
public enum Init {
    /// Which fan Kaiming initialisation scales by.
    public enum FanMode: Sendable { case fanIn, fanOut }

    /// Kaiming (He) normal for ReLU: N(0, 2/fan) (PyTorch `kaiming_normal_(w, mode=…, nonlinearity='relu')`).
    /// For OIHW weights fan_in = I·KH·KW and fan_out = O·KH·KW.
    public static func kaimingNormal(_ w: Tensor, mode: FanMode, rng: inout RNG) {
        let receptive = w.shape[2...].reduce(1, *)
        let fan = (mode == .fanIn ? w.shape[1] : w.shape[0]) * receptive
        let std = (2 / Float(fan)).squareRoot()
        for i in 0..<w.count { w.pointer[i] = std * rng.normal() }
    }

    /// Kaiming normal with fan_out (`mode='fan_out'`, ReLU).
    public static func kaimingNormalFanOut(_ w: Tensor, rng: inout RNG) { kaimingNormal(w, mode: .fanOut, rng: &rng) }

    /// PyTorch's default Conv/Linear weight init: kaiming_uniform(a = √5), i.e. U(−1/√fan_in, 1/√fan_in).
    public static func defaultWeight(_ w: Tensor, rng: inout RNG) {
        uniform(w, bound: 1 / Float(fanIn(w)).squareRoot(), rng: &rng)
    }

    /// PyTorch's default Conv/Linear bias init: U(−1/√fan_in, 1/√fan_in) of the layer's weight.
    public static func defaultBias(_ b: Tensor, weight: Tensor, rng: inout RNG) {
        uniform(b, bound: 1 / Float(fanIn(weight)).squareRoot(), rng: &rng)
    }

    /// fan_in of an OIHW or [out, in] weight: I·KH·KW.
    public static func fanIn(_ w: Tensor) -> Int { w.shape[1...].reduce(1, *) }

    static func uniform(_ t: Tensor, bound: Float, rng: inout RNG) {
        for i in 0..<t.count { t.pointer[i] = rng.uniform(-bound, bound) }
    }
}

extension Tensor {
    /// A new leaf parameter (requires grad).
    public static func parameter(_ t: Tensor) -> Tensor {
        t.requiresGrad = true
        return t
    }
}
