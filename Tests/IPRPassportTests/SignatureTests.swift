import IPRPassport
import IPRTensor
import Testing

@Suite struct SignatureTests {
    @Test func asciiLetterIsItsBitsMostSignificantFirst() throws {
        // "A" = 0x41 = 0100 0001.
        let signature = try Signature(text: "A", channels: 8, seed: 0)
        #expect(signature.bits == [-1, 1, -1, -1, -1, -1, -1, 1])
        #expect(signature.text == "A")
    }

    @Test func textRoundTripsThroughTheBits() throws {
        let text = "this is my signature"
        let signature = try Signature(text: text, channels: 256, seed: 42)
        #expect(signature.channels == 256)
        #expect(signature.bits.allSatisfy { $0 == 1 || $0 == -1 })
        #expect(signature.decodeText(from: signature.bits) == text)
        #expect(Signature.decodeText(from: signature.bits, byteCount: 20) == text)
        // Without a length every whole byte is read: the text, then the random padding as noise.
        let all = Signature.decodeText(from: signature.bits)
        #expect(all.hasPrefix(text))
        #expect(all.unicodeScalars.count > text.unicodeScalars.count)
    }

    @Test func decodingReadsTheSignsOfRealGammas() throws {
        let signature = try Signature(text: "ok", channels: 64, seed: 1)
        var rng = RNG(seed: 9)
        let gamma = signature.bits.map { $0 * rng.uniform(0.01, 3) }
        #expect(signature.decodeText(from: gamma) == "ok")
        #expect(signature.detection(signsOf: gamma) == 1)
    }

    @Test func multiByteUTF8IsEncodedAsBytes() throws {
        // "é" is C3 A9 in UTF-8 (the reference would write its code point E9 instead).
        let e = try Signature(text: "é", channels: 16, seed: 3)
        let c3a9: [Float] = [1, 1, -1, -1, -1, -1, 1, 1, 1, -1, 1, -1, 1, -1, -1, 1]
        #expect(e.bits == c3a9)
        #expect(e.decodeText(from: e.bits) == "é")

        let chinese = "签名"   // 6 bytes of UTF-8
        let signature = try Signature(text: chinese, channels: 48, seed: 4)
        #expect(signature.decodeText(from: signature.bits) == chinese)
        #expect(Signature.decodeText(from: signature.bits, byteCount: 6) == chinese)
        let error = try #require(throws: IPRPassportError.self) { try Signature(text: chinese, channels: 40, seed: 4) }
        #expect(error.code == .signatureTooLong)
        #expect(error.message.contains("6 bytes of UTF-8 (2 characters)"))
        #expect(error.message.contains("at most 40 / 8 = 5 bytes"))
    }

    @Test func flippedBitsDecodeToReplacementCharactersNotGarbageStrings() throws {
        var bits = try Signature(text: "é", channels: 16, seed: 3).bits
        bits[1] = -bits[1]   // C3 → 83: a lone continuation byte
        let decoded = Signature.decodeText(from: bits, byteCount: 2)
        #expect(decoded.unicodeScalars.allSatisfy { $0 == "\u{FFFD}" })
        #expect(!decoded.isEmpty)
        // A byte count past the channels reads what is there.
        #expect(Signature.decodeText(from: try Signature(text: "AB", channels: 20, seed: 0).bits, byteCount: 10) == "AB")
    }

    @Test func textLongerThanTheChannelsAllowIsAClearError() throws {
        let text = "this is my signature!"   // 21 bytes
        let error = try #require(throws: IPRPassportError.self) { try Signature(text: text, channels: 160, seed: 0) }
        #expect(error.code == .signatureTooLong)
        #expect(error.message.contains("is 21 bytes"))
        #expect(error.message.contains("160 output channels"))
        #expect(error.message.contains("at most 160 / 8 = 20 bytes"))
        // Exactly channels / 8 bytes fits; leftover channels (< 8) are random padding.
        let fits = try Signature(text: String(text.dropLast()), channels: 167, seed: 0)
        #expect(fits.decodeText(from: fits.bits) == String(text.dropLast()))
        #expect(Signature.maximumTextBytes(channels: 167) == 20)
    }

    @Test func seededRandomPaddingIsDeterministic() throws {
        let a = try Signature(text: "A", channels: 256, seed: 7)
        let b = try Signature(text: "A", channels: 256, seed: 7)
        let c = try Signature(text: "A", channels: 256, seed: 8)
        #expect(a == b)
        #expect(a.bits[8...] != c.bits[8...])
        #expect(a.bits[..<8] == c.bits[..<8])
        // As in the reference, the text is written over a random signature of all the channels, so
        // the padding of a channel does not depend on the text.
        let random = Signature(random: 256, seed: 7)
        #expect(a.bits[8...] == random.bits[8...])
        #expect(try Signature(text: "AB", channels: 256, seed: 7).bits[16...] == random.bits[16...])
        #expect(Signature(random: 256, seed: 7) == random)
        #expect(random.text == nil)
        #expect(try Signature(text: "", channels: 256, seed: 7).bits == random.bits)
    }

    @Test func randomBitsAreBalancedSigns() {
        let bits = Signature(random: 4096, seed: 11).bits
        #expect(bits.allSatisfy { $0 == 1 || $0 == -1 })
        let ones = bits.filter { $0 > 0 }.count
        #expect((1900...2200).contains(ones), "\(ones) of 4096 bits are +1")
    }

    @Test func detectionIsTheFractionOfMatchingSigns() throws {
        let signature = try Signature(bits: [1, -1, 1, -1, 1, -1, 1, -1])
        #expect(signature.detection(signsOf: [0.5, -2, 3, -0.1, 1, -1, 2, -3]) == 1)
        #expect(signature.detection(signsOf: [-0.5, -2, 3, -0.1, 1, -1, 2, -3]) == 0.875)
        // γ == 0 has no sign: a miss for either bit. NaN too.
        #expect(signature.detection(signsOf: [0, 0, 3, -0.1, 1, -1, 2, -3]) == 0.75)
        #expect(signature.detection(signsOf: [.nan, -2, 3, -0.1, 1, -1, 2, -3]) == 0.875)
        #expect(signature.detection(signsOf: signature.bits.map { -$0 }) == 0)
    }

    @Test func bitsAreValidated() throws {
        let stored = try Signature(text: "A", channels: 16, seed: 5)
        #expect(try Signature(bits: stored.bits, text: "A") == stored)
        #expect(try Signature(bits: stored.bits).bits == stored.bits)

        let notSign = try #require(throws: IPRPassportError.self) { try Signature(bits: [1, -1, 0.5]) }
        #expect(notSign.code == .invalidSignature)
        #expect(notSign.message.contains("found 0.5 at channel 2 of 3"))
        let empty = try #require(throws: IPRPassportError.self) { try Signature(bits: []) }
        #expect(empty.code == .invalidSignature)
        let zero = try #require(throws: IPRPassportError.self) { try Signature(bits: [1, 0]) }
        #expect(zero.message.contains("channel 1"))

        let wrongText = try #require(throws: IPRPassportError.self) { try Signature(bits: stored.bits, text: "B") }
        #expect(wrongText.code == .invalidSignature)
        #expect(wrongText.message.contains("\"B\""))
        let tooLong = try #require(throws: IPRPassportError.self) { try Signature(bits: stored.bits, text: "ABC") }
        #expect(tooLong.code == .signatureTooLong)
    }
}
