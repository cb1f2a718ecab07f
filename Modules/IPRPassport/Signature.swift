import IPRTensor

/// The binary signature b ∈ {−1, +1}^C of a passport layer: one bit per output channel, embedded in
/// the signs of the passport scale γ by the sign loss.
///
/// Text encoding (SPEC §2): the text's UTF-8 bytes, 8 bits each, most significant bit first,
/// bit 1 → +1 and bit 0 → −1, in channels 0..<8·bytes. A passport layer's other channels carry bits
/// of SHA-256 over its passports (`SignatureCommitment`), so that a signature cannot be chosen after
/// the passports; `init(text:channels:seed:)` and `init(random:seed:)` make uncommitted ones.
///
/// Differences from the reference (`PassportBlock.__init__` in `models/layers/passportconv2d.py`):
/// - The reference encodes Python characters, not bytes: `format(ord(c), 'b').zfill(8)`. For ASCII
///   that is the same 8 bits as here. For other characters it is not: `é` becomes its code point
///   0xE9 (one Latin-1 byte where UTF-8 has two), and a character above U+00FF becomes 9–21 bits,
///   so the bit string cannot be cut back into characters and can overrun the channels (its length
///   check counts characters, `len(b) * 8 > o`). Here every text is UTF-8, so any text decodes.
/// - The reference pads with random bits, drawn first for all channels (`torch.sign(torch.rand(o) -
///   0.5)`) and then overwritten by the text bits, from PyTorch's global, unseeded generator (a draw
///   of exactly 0.5 gives a 0 "bit"). Here the padding is the passports' hash: as random, never 0, and
///   fixed by the passports, which is what lets verification refuse a signature read off a model.
/// - Too-long text is an error in both; the limit is the same for ASCII: ⌊C/8⌋ bytes.
public struct Signature: Equatable, Sendable {
    /// ±1 per output channel.
    public var bits: [Float]
    /// The text written in the leading bits, when this signature was made from (or declared to carry) one.
    public var text: String?

    /// Number of bits: the layer's output channels.
    public var channels: Int { bits.count }

    /// The longest text, in UTF-8 bytes, that `channels` signature bits can carry.
    public static func maximumTextBytes(channels: Int) -> Int { max(channels, 0) / 8 }

    /// Encodes `text` (UTF-8, MSB first) into the first bits and fills the rest with seeded random ±1.
    /// Throws `.signatureTooLong` when the text has more than `channels / 8` bytes.
    public init(text: String, channels: Int, seed: UInt64) throws {
        precondition(channels > 0, "a signature needs at least one channel, got \(channels)")
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maximumTextBytes(channels: channels) else {
            throw Self.tooLong(text: text, channels: channels, layer: nil)
        }
        var bits = Signature(random: channels, seed: seed).bits
        for (i, bit) in Self.bits(ofBytes: bytes).enumerated() { bits[i] = bit }
        self.bits = bits
        self.text = text
    }

    /// `channels` seeded random ±1 bits (the reference's signature of a `true` passport layer).
    public init(random channels: Int, seed: UInt64) {
        precondition(channels > 0, "a signature needs at least one channel, got \(channels)")
        var rng = RNG(seed: seed)
        // The top bit of each 64-bit draw: one fair coin per channel.
        bits = (0..<channels).map { _ in rng.next() >> 63 == 1 ? 1 : -1 }
        text = nil
    }

    /// Signature bits as stored (e.g. in a passport file); each must be exactly +1 or −1. When `text`
    /// is given, the leading bits must encode it.
    public init(bits: [Float], text: String? = nil) throws {
        guard !bits.isEmpty else {
            throw IPRPassportError(.invalidSignature, "signature bits: expected one ±1 per output channel but found none")
        }
        if let bad = bits.firstIndex(where: { $0 != 1 && $0 != -1 }) {
            throw IPRPassportError(.invalidSignature,
                                   "signature bits: expected only +1 or -1 but found \(bits[bad]) at channel \(bad) of \(bits.count)")
        }
        if let text {
            let bytes = Array(text.utf8)
            guard bytes.count <= Self.maximumTextBytes(channels: bits.count) else {
                throw Self.tooLong(text: text, channels: bits.count, layer: nil)
            }
            let expected = Self.bits(ofBytes: bytes)
            if let first = expected.indices.first(where: { expected[$0] != bits[$0] }) {
                throw IPRPassportError(.invalidSignature,
                                       "signature bits do not encode the declared text \(Self.quoted(text)): "
                                       + "bit \(first) (byte \(first / 8), bit \(7 - first % 8) from the right) is "
                                       + "\(bits[first] > 0 ? "+1" : "-1") but the text needs \(expected[first] > 0 ? "+1" : "-1")")
            }
        }
        self.bits = bits
        self.text = text
    }

    // MARK: - Reading a signature back

    /// Reads sign(γ) back into text: channel groups of 8, MSB first, γ > 0 → 1, otherwise 0
    /// (γ == 0 and NaN read as 0). Stops after `byteCount` bytes when given, else after every whole
    /// byte of `signs` (the random padding then decodes as noise). Invalid UTF-8, e.g. a flipped
    /// bit, becomes U+FFFD, so the result is always a valid string.
    public static func decodeText(from signs: [Float], byteCount: Int? = nil) -> String {
        precondition(byteCount.map { $0 >= 0 } ?? true, "byteCount must not be negative, got \(byteCount!)")
        let count = min(byteCount ?? Int.max, signs.count / 8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for b in 0..<count {
            var byte: UInt8 = 0
            for k in 0..<8 where signs[8 * b + k] > 0 { byte |= 0x80 >> UInt8(k) }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads sign(γ) back into text, stopping at this signature's text length when it carries text.
    public func decodeText(from signs: [Float]) -> String {
        Self.decodeText(from: signs, byteCount: text.map { $0.utf8.count })
    }

    /// Fraction of channels with sign(γ_c) == b_c (the reference's sign accuracy / detection rate);
    /// γ_c == 0 or NaN counts as a miss. `gamma` must have one value per bit.
    public func detection(signsOf gamma: [Float]) -> Double {
        precondition(gamma.count == bits.count,
                     "detection: γ has \(gamma.count) channels but the signature has \(bits.count) bits")
        var hits = 0
        for (g, b) in zip(gamma, bits) where (b > 0 && g > 0) || (b < 0 && g < 0) { hits += 1 }
        return Double(hits) / Double(bits.count)
    }

    // MARK: - Helpers

    /// 8 bits per byte, MSB first, as ±1.
    static func bits(ofBytes bytes: [UInt8]) -> [Float] {
        var bits: [Float] = []
        bits.reserveCapacity(8 * bytes.count)
        for byte in bytes {
            for k in 0..<8 { bits.append((byte << UInt8(k)) & 0x80 != 0 ? 1 : -1) }
        }
        return bits
    }

    /// The `.signatureTooLong` error, naming the layer when known.
    static func tooLong(text: String, channels: Int, layer: String?) -> IPRPassportError {
        let bytes = text.utf8.count
        let characters = text.count
        let size = characters == bytes ? "\(bytes) bytes" : "\(bytes) bytes of UTF-8 (\(characters) characters)"
        let maximum = maximumTextBytes(channels: channels)
        return IPRPassportError(.signatureTooLong,
                                "\(layer.map { "\($0): " } ?? "")signature text \(quoted(text)) is \(size), but \(channels) "
                                + "output channels hold at most \(channels) / 8 = \(maximum) bytes "
                                + "(8 bits per byte, one bit per channel)")
    }

    /// The text in quotes, shortened for messages.
    static func quoted(_ text: String) -> String {
        text.count > 40 ? "\"\(text.prefix(40))…\"" : "\"\(text)\""
    }
}
