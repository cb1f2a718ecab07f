import IPRModels
import IPRPassport
import IPRTensor

/// The passport layers' γ and β as a thief holds them: free, trainable per-channel parameters in
/// place of the passport (the reference turns them into the norm's affine). V1 layers get new
/// tensors through `freeAffine`; V2/V3 layers' public path already is that (`publicAffine`), so
/// those tensors are used as they are.
struct FreeAffine {
    let layers: [any PassportLayer]
    let scales: [Tensor], biases: [Tensor]

    /// - Parameter initial: each layer's starting γ and β (by default what the deployed path uses now).
    init(_ model: any Module, initial: ((any PassportLayer) -> (scale: [Float], bias: [Float]))? = nil) {
        layers = passportLayers(in: model)
        var scales: [Tensor] = [], biases: [Tensor] = []
        for layer in layers {
            let (s, b) = initial?(layer) ?? Self.deployed(layer)
            if let deployed = layer.publicAffine {
                deployed.scale.assign(Tensor(shape: [s.count], data: s))
                deployed.bias.assign(Tensor(shape: [b.count], data: b))
                scales.append(deployed.scale); biases.append(deployed.bias)
            } else {
                scales.append(.parameter(Tensor(shape: [s.count], data: s)))
                biases.append(.parameter(Tensor(shape: [b.count], data: b)))
            }
        }
        self.scales = scales; self.biases = biases
    }

    /// γ, β of the deployed path now: V1's free ones when it has them, else its passport's; V2/V3's public ones.
    static func deployed(_ layer: any PassportLayer) -> (scale: [Float], bias: [Float]) {
        let (scale, bias) = layer.deployedAffine()
        return (scale.array, bias.array)
    }

    /// The trainable tensors.
    var parameters: [Tensor] { scales + biases }

    /// Puts V1 layers on the free γ, β (true) or back on their passport (false); V2/V3 layers keep
    /// their public path either way.
    func use(_ on: Bool) {
        for (k, layer) in layers.enumerated() {
            if layer.publicAffine == nil { layer.freeAffine = on ? (scales[k], biases[k]) : nil }
        }
    }
}

/// ±1 for each value: its sign, 0 counted as negative (as the signature's bits are read).
func signs(_ values: [Float]) -> [Float] { values.map { Float($0 > 0 ? 1 : -1) } }

/// The bit dissimilarity rate (BDR): the fraction of `reference`'s bits that `bits` differs from,
/// layer vectors laid end to end.
func bitDissimilarity(_ bits: [[Float]], _ reference: [[Float]]) -> Double {
    let differing = zip(bits.joined(), reference.joined()).filter { $0 != $1 }.count
    return Double(differing) / Double(max(reference.joined().count, 1))
}

/// Sign vectors (one per passport layer) with a random `fraction` of all their entries negated: the
/// forger's own signature, made from one it has.
func flipping(_ vectors: [[Float]], fraction: Double, rng: inout RNG) -> [[Float]] {
    let total = vectors.reduce(0) { $0 + $1.count }
    let flipped = Set(rng.permutation(total).prefix(Int((Double(total) * fraction).rounded(.down))))
    var offset = 0
    return vectors.map { v in
        defer { offset += v.count }
        return v.enumerated().map { flipped.contains(offset + $0) ? -$1 : $1 }
    }
}
