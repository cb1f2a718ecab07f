import Foundation
import IPRModels
import IPRPassport
import IPRTensor
import Testing

@Suite struct ReferenceConfigTests {
    @Test func alexnetConfigLoadsUnchanged() throws {
        let config = try PassportConfig.load(path: PassportFixtures.path("alexnet_passport.json"))
        #expect(config.leaves.map(\.keyPath) == ["0", "2", "4", "5", "6"])
        let specs = try ModelSpecs.alexnet()
        let layers = try config.passportLayers(in: specs)
        #expect(layers.map(\.spec.path) == ["features.4", "features.5", "features.6"])
        #expect(layers.map(\.keyPath) == ["4", "5", "6"])
        // The checked-in file flags layer 6 with `true` (random signature); the string is the README's example.
        #expect(layers.allSatisfy { $0.signatureText == nil })
        #expect(layers.map(\.spec.outChannels) == [384, 256, 256])
        #expect(config.entry(forBlockPath: "features.0") == .plain)
        #expect(config.entry(forBlockPath: "features.2") == .plain)
        #expect(config.entry(forBlockPath: "features.4") == .passport(signatureText: nil))
        #expect(config.entry(forBlockPath: "features.1") == nil)
    }

    @Test func alexnetReadmeExampleCarriesItsTextOnLayer6() throws {
        // README.md of kamwoh/DeepIPR, "How to embed passport & signature into a desired layer".
        let readme = """
        {
          "0": false,
          "2": false,
          "4": true,
          "5": true,
          "6": "this is my signature"
        }
        """
        let config = try PassportConfig.parse(readme, source: "README example")
        let layers = try config.passportLayers(in: ModelSpecs.alexnet())
        #expect(layers.map(\.spec.path) == ["features.4", "features.5", "features.6"])
        #expect(layers.map(\.signatureText) == [nil, nil, "this is my signature"])
        #expect(config.entry(forBlockPath: "features.6") == .passport(signatureText: "this is my signature"))
        let (key, skey) = (Tensor.ones([1, 256, 3, 3]), Tensor.zeros([1, 256, 3, 3]))
        let signature = try layers[2].makeSignature(key: key, skey: skey)
        #expect(signature.channels == 256)
        #expect(signature.decodeText(from: signature.bits) == "this is my signature")
        #expect(try layers[2].makeSignature(key: key, skey: skey) == signature, "the passports fix the signature")
    }

    static let resnet18PassportPaths = ["layer4.0.convbnrelu_1", "layer4.0.convbn_2", "layer4.0.shortcut",
                                        "layer4.1.convbnrelu_1", "layer4.1.convbn_2"]

    @Test(arguments: ["resnet18_passport.json", "resnet_passport.json"])
    func resnet18ConfigLoadsUnchanged(file: String) throws {
        let config = try PassportConfig.load(path: PassportFixtures.path(file))
        let specs = try ModelSpecs.resnet18()
        let layers = try config.passportLayers(in: specs)
        #expect(layers.map(\.spec.path) == Self.resnet18PassportPaths)
        #expect(layers.map(\.keyPath) == Self.resnet18PassportPaths)
        #expect(layers.allSatisfy { $0.signatureText == nil && $0.spec.outChannels == 512 })
        // The file names every conv block of ResNet-18 exactly once, stem and shortcuts included.
        #expect(config.leaves.count == specs.count)
        #expect(Set(config.leaves.map(\.keyPath)) == Set(specs.map(\.path)))
        #expect(config.entry(forBlockPath: "convbnrelu_1") == .plain)
        #expect(config.entry(forBlockPath: "layer2.0.shortcut") == .plain)
        #expect(config.entry(forBlockPath: "layer4.0.shortcut") == .passport(signatureText: nil))
        #expect(config.entry(forBlockPath: "layer1.0.shortcut") == nil)
    }

    @Test func resnet9ConfigLoadsUnchanged() throws {
        let config = try PassportConfig.load(path: PassportFixtures.path("resnet9_passport.json"))
        let specs = try ModelSpecs.resnet9()
        #expect(try config.passportLayers(in: specs).map(\.spec.path)
                == ["layer4.0.convbnrelu_1", "layer4.0.convbn_2", "layer4.0.shortcut"])
        #expect(Set(config.leaves.map(\.keyPath)) == Set(specs.map(\.path)))
    }

    @Test func imagenetResNetStemIsTheConfigsConvbnrelu1() throws {
        // The ImageNet stem is Sequential(block, max-pool): block path convbnrelu_1.0, config key convbnrelu_1.
        let specs = try ModelSpecs.resnet18(inputSize: 224)
        #expect(specs.first?.path == "convbnrelu_1.0")
        let reference = try PassportConfig.load(path: PassportFixtures.path("resnet18_passport.json"))
        #expect(reference.entry(forBlockPath: "convbnrelu_1.0") == .plain)
        #expect(try reference.passportLayers(in: specs).map(\.spec.path) == Self.resnet18PassportPaths)

        let stem = try PassportConfig.parse(#"{"convbnrelu_1": "owner"}"#)
        let layers = try stem.passportLayers(in: specs)
        #expect(layers.map(\.spec.path) == ["convbnrelu_1.0"])
        #expect(layers.first?.keyPath == "convbnrelu_1")
        #expect(layers.first?.signatureText == "owner")
    }

    @Test func configsForAnotherArchitectureAreRejected() throws {
        let resnet18 = try PassportConfig.load(path: PassportFixtures.path("resnet18_passport.json"))
        let error = try #require(throws: IPRPassportError.self) { try resnet18.validate(against: ModelSpecs.resnet9()) }
        #expect(error.code == .unknownLayer)
        #expect(error.message.contains("resnet18_passport.json"))
        #expect(error.message.contains("passport layer 'layer4.1.convbnrelu_1' names no conv block"))
        #expect(error.message.contains("layer4.0.convbn_2, layer4.0.shortcut"))

        let alexnet = try PassportConfig.load(path: PassportFixtures.path("alexnet_passport.json"))
        let other = try #require(throws: IPRPassportError.self) { try alexnet.validate(against: ModelSpecs.resnet18()) }
        #expect(other.code == .unknownLayer)
        #expect(other.message.contains("'4'"))
    }
}

@Suite struct PassportConfigTests {
    @Test func fullBlockPathsWorkNestedOrDotted() throws {
        let config = try PassportConfig.parse(#"{"features": {"4": true}, "features.6": "sig", "features.0": false}"#)
        let layers = try config.passportLayers(in: ModelSpecs.alexnet())
        #expect(layers.map(\.spec.path) == ["features.4", "features.6"])
        #expect(layers.map(\.keyPath) == ["features.4", "features.6"])
        #expect(layers.map(\.signatureText) == [nil, "sig"])
    }

    @Test func unknownPassportLayersAreErrorsButUnknownPlainOnesAreHarmless() throws {
        let specs = try ModelSpecs.alexnet()
        let harmless = try PassportConfig.parse(#"{"0": false, "3": false, "4": true}"#)
        #expect(try harmless.passportLayers(in: specs).map(\.spec.path) == ["features.4"])

        let config = try PassportConfig.parse(#"{"4": true, "7": "x"}"#, source: "my.json")
        let error = try #require(throws: IPRPassportError.self) { try config.validate(against: specs) }
        #expect(error.code == .unknownLayer)
        #expect(error.message.hasPrefix("my.json: passport layer '7' names no conv block of this model"))
        #expect(error.message.contains("features.0, features.2, features.4, features.5, features.6"))

        let typo = try PassportConfig.parse(#"{"layer4": {"0": {"convbn2": true}}}"#)
        let typoError = try #require(throws: IPRPassportError.self) { try typo.validate(against: ModelSpecs.resnet9()) }
        #expect(typoError.message.contains("'layer4.0.convbn2'"))
        #expect(typoError.message.contains("layer4.0.convbn_2"))
    }

    @Test func blocksTheConfigDoesNotMentionArePlain() throws {
        let config = try PassportConfig.parse(#"{"layer4": {"1": {"convbn_2": true}}}"#)
        let specs = try ModelSpecs.resnet18()
        #expect(try config.passportLayers(in: specs).map(\.spec.path) == ["layer4.1.convbn_2"])
        #expect(config.entry(forBlockPath: "layer4.1.convbnrelu_1") == nil)
        #expect(try PassportConfig.parse("{}").passportLayers(in: specs).isEmpty)
    }

    @Test func wrongValueTypesNameTheKeyAndWhatWasFound() throws {
        let cases: [(json: String, key: String, found: String)] = [
            (#"{"4": 1}"#, "'4'", "number 1"),
            (#"{"0": false, "4": 0.5}"#, "'4'", "number 0.5"),
            (#"{"layer4": {"0": {"convbn_2": null}}}"#, "'layer4.0.convbn_2'", "null"),
            (#"{"layer4": {"0": [true, false]}}"#, "'layer4.0'", "an array of 2 elements"),
        ]
        for c in cases {
            let error = try #require(throws: IPRPassportError.self) { try PassportConfig.parse(c.json, source: "cfg.json") }
            #expect(error.code == .invalidConfig, "\(c.json)")
            #expect(error.message.hasPrefix("cfg.json: key \(c.key): expected true (passport layer), false (plain layer)"), "\(error.message)")
            #expect(error.message.hasSuffix("but found \(c.found)"), "\(error.message)")
        }
        let top = try #require(throws: IPRPassportError.self) { try PassportConfig.parse(#"[true]"#, source: "cfg.json") }
        #expect(top.code == .invalidConfig)
        #expect(top.message.contains("expected a JSON object"))
        #expect(top.message.contains("found an array of 1 element at the top level"))
        let string = try #require(throws: IPRPassportError.self) { try PassportConfig.parse(#""4""#) }
        #expect(string.message.contains("found string \"4\""))
    }

    @Test func malformedJSONNamesTheOffsetLineAndColumn() throws {
        let cases: [(json: String, expected: String)] = [
            ("{\n  \"0\": false,\n  \"4\": true,\n", "at byte offset 29 (line 4, column 1): expected a quoted key but found the end of the file"),
            (#"{"0": false,}"#, "at byte offset 12 (line 1, column 13): expected a quoted key but found '}'"),
            (#"{'0': false}"#, "expected a quoted key but found '''"),
            (#"{"0": False}"#, "expected a value (object, array, string, number, true, false or null) but found 'F'"),
            (#"{"0": tru}"#, "expected 'true' but found 't'"),
            (#"{"0" false}"#, "expected ':' after key \"0\" but found 'f'"),
            (#"{"0": false} {}"#, "expected the end of the file after the top-level value but found '{'"),
            (#"{"4": "abc}"#, "expected a closing '\"' but found the end of the file"),
            (#"{"4": "a\qb"}"#, "after '\\' but found 'q'"),
            (#"{"4": "\ud800x"}"#, "expected a low surrogate"),
            (#"{"4": 01}"#, "expected ',' or '}' after the value of key \"4\" but found '1'"),
            ("", "expected a JSON object but the file is empty or blank"),
            ("  \n ", "expected a JSON object but the file is empty or blank"),
            (#"{"4": true, "4": false}"#, "at byte offset 12 (line 1, column 13): duplicate key \"4\""),
            (String(repeating: "{\"a\":", count: 70) + "true" + String(repeating: "}", count: 70), "levels of nesting"),
        ]
        for c in cases {
            let error = try #require(throws: IPRPassportError.self) { try PassportConfig.parse(c.json, source: "bad.json") }
            #expect(error.code == .invalidConfig)
            #expect(error.message.hasPrefix("bad.json: not valid JSON at byte offset"), "\(error.message)")
            #expect(error.message.contains(c.expected), "\(error.message)")
        }
        let invalidUTF8: [UInt8] = Array(#"{"6": "ab"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        let error = try #require(throws: IPRPassportError.self) { try PassportConfig.parse(invalidUTF8, source: "bin.json") }
        #expect(error.message == "bin.json: not valid JSON at byte offset 9 (line 1, column 10): expected UTF-8 text but found an invalid byte sequence of length 1")
    }

    @Test func stringsAreFullJSONStrings() throws {
        let config = try PassportConfig.parse(Array([0xEF, 0xBB, 0xBF]) + Array(#"{"6": "\u00e9\ud83d\ude00 \"q\"\n签"}"#.utf8))
        let text = "é😀 \"q\"\n签"
        #expect(config.entry(forBlockPath: "features.6") == .passport(signatureText: text))
        let layer = try #require(try config.passportLayers(in: ModelSpecs.alexnet()).first)
        let signature = try layer.makeSignature(key: Tensor.ones([1, 256, 3, 3]), skey: Tensor.ones([1, 256, 3, 3]))
        #expect(signature.decodeText(from: signature.bits) == text)
        // An empty string is a passport layer with an all-random signature, as in the reference.
        #expect(try PassportConfig.parse(#"{"6": ""}"#).entry(forBlockPath: "features.6") == .passport(signatureText: ""))
    }

    @Test func signatureTooLongForTheLayerNamesIt() throws {
        let specs = try ModelSpecs.alexnet()
        let fits = String(repeating: "x", count: 32)   // features.6 has 256 channels: 32 bytes
        #expect(try PassportConfig.parse(#"{"6": "\#(fits)"}"#).passportLayers(in: specs).first?.signatureText == fits)

        let config = try PassportConfig.parse(#"{"4": true, "6": "\#(fits)y"}"#, source: "long.json")
        let error = try #require(throws: IPRPassportError.self) { try config.validate(against: specs) }
        #expect(error.code == .signatureTooLong)
        #expect(error.message.hasPrefix("long.json: layer 'features.6' (key '6'): signature text"))
        #expect(error.message.contains("is 33 bytes, but 256 output channels hold at most 256 / 8 = 32 bytes"))
        // features.4 has 384 channels, so the same text fits there.
        #expect(try PassportConfig.parse(#"{"4": "\#(fits)y"}"#).passportLayers(in: specs).count == 1)
    }

    @Test func aBlockNamedTwiceIsAnError() throws {
        let specs = try ModelSpecs.alexnet()
        let twoSpellings = try PassportConfig.parse(#"{"4": true, "features": {"4": false}}"#, source: "twice.json")
        let error = try #require(throws: IPRPassportError.self) { try twoSpellings.validate(against: specs) }
        #expect(error.code == .invalidConfig)
        #expect(error.message == "twice.json: block 'features.4' is named by more than one key ('features.4' and '4'); name each layer once")

        let sameKeyPath = try #require(throws: IPRPassportError.self) {
            try PassportConfig.parse(#"{"features": {"4": true}, "features.4": true}"#)
        }
        #expect(sameKeyPath.code == .invalidConfig)
        #expect(sameKeyPath.message.contains("key path 'features.4' is given twice"))

        let emptyComponent = try #require(throws: IPRPassportError.self) { try PassportConfig.parse(#"{"layer4": {"": true}}"#) }
        #expect(emptyComponent.message.contains("key path 'layer4.' has an empty component"))
    }

    @Test func unreadableFilesAreIOErrors() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("ipr-absent-\(UUID())/passport.json").path
        let error = try #require(throws: IPRPassportError.self) { try PassportConfig.load(path: missing) }
        #expect(error.code == .io)
        #expect(error.message == "\(missing): cannot read the passport config: No such file or directory")
        let directory = try #require(throws: IPRPassportError.self) { try PassportConfig.load(path: PassportFixtures.root.path) }
        #expect(directory.code == .io)
        #expect(directory.message.contains("Is a directory"))
    }

    @Test func configsBuiltInCodeMatchParsedOnes() throws {
        let built = try PassportConfig(leaves: [.init(keyPath: "4", entry: .passport(signatureText: nil)),
                                                .init(keyPath: "6", entry: .passport(signatureText: "me"))], source: "code")
        let parsed = try PassportConfig.parse(#"{"4": true, "6": "me"}"#, source: "code")
        #expect(built == parsed)
        #expect(parsed.passportLeaves.map(\.keyPath) == ["4", "6"])
    }
}
