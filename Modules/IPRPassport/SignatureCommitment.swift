import Crypto
import IPRTensor

/// A signature fixed by its own passports. Every bit beyond the text is a bit of SHA-256 over the
/// layer's path, text and passports (P_γ, then P_β, as float32 little-endian bytes), so the passports
/// come first and the signature follows from them.
///
/// Why: a forger who freezes a stolen model's weights can optimise passports for accuracy alone and
/// claim whatever signature they produce; such a claim matches its own γ by construction, beats random
/// passports and keeps the accuracy, so detection, the null test and fidelity all pass. What it cannot
/// do is make the signature its passports produce equal to the hash of those passports: every step of
/// the optimisation changes the hash, and searching passports whose hash matches the produced signs
/// costs 2^bits. A claim is therefore required to be committed (`check`): its bits beyond the texts
/// are the hash of its passports, and there are at least `minimumBits` of them.
public enum SignatureCommitment {
    /// Bits a passport must commit beyond its texts (64: a search over 2^64 passports).
    public static let minimumBits = 64

    /// The committed signature of a layer with `channels` output channels: `text`'s bits (UTF-8, MSB
    /// first) at the head, the hash of the passports in every other bit.
    /// - Throws: `.signatureTooLong` when the text has more than `channels / 8` bytes.
    public static func signature(path: String, text: String?, key: Tensor, skey: Tensor, channels: Int) throws -> Signature {
        let head = Array((text ?? "").utf8)
        guard head.count <= Signature.maximumTextBytes(channels: channels) else {
            throw Signature.tooLong(text: text ?? "", channels: channels, layer: "layer '\(path)'")
        }
        var bits = hashBits(path: path, text: text, key: key, skey: skey, count: channels)
        for (i, bit) in Signature.bits(ofBytes: head).enumerated() { bits[i] = bit }
        return try Signature(bits: bits, text: text)
    }

    /// Whether `passport`'s signature is committed, and the line a report shows.
    public static func check(_ passport: Passport) -> (passed: Bool, line: String) {
        var committed = 0
        for layer in passport.layers {
            let textBits = 8 * (layer.text?.utf8.count ?? 0)
            guard let expected = try? signature(path: layer.path, text: layer.text, key: layer.key, skey: layer.skey, channels: layer.bits.count),
                  expected.bits == layer.bits else {
                return (false, "signature committed: layer \(layer.path)'s bits are not the SHA-256 of its passports"
                        + " (a signature chosen after the passports, e.g. read off a model, proves nothing)")
            }
            committed += layer.bits.count - textBits
        }
        return (committed >= minimumBits,
                "signature committed: \(committed) bits beyond the texts are the SHA-256 of the claim's passports (≥ \(minimumBits))")
    }

    /// `count` ±1 bits: SHA-256 blocks over the layer's identity and passports, then a block counter.
    static func hashBits(path: String, text: String?, key: Tensor, skey: Tensor, count: Int) -> [Float] {
        var prefix = Array("swift-deepipr signature commitment 1\0\(path)\0\(text ?? "")\0".utf8)
        for value in skey.array + key.array { withUnsafeBytes(of: value.bitPattern.littleEndian) { prefix += $0 } }
        var bits: [Float] = []
        bits.reserveCapacity(count)
        var block: UInt32 = 0
        while bits.count < count {
            var message = prefix
            withUnsafeBytes(of: block.littleEndian) { message += $0 }
            for byte in SHA256.hash(data: message) {
                for k in 0..<8 where bits.count < count { bits.append((byte << UInt8(k)) & 0x80 != 0 ? 1 : -1) }
            }
            block += 1
        }
        return bits
    }
}
