import Foundation
import Testing
@testable import IPRTensor

@Suite("SafeTensors")
struct SafeTensorsTests {
    // MARK: - Helpers

    /// A file made of a little-endian length prefix (default: the header's UTF-8 length), the header and the data.
    private static func fileBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        let length = declaredLength ?? UInt64(json.count)
        return withUnsafeBytes(of: length.littleEndian) { Array($0) } + json + data
    }

    /// Runs `body` and checks it throws an IPRTensorError with `code` whose message contains every phrase.
    private static func expectError(_ code: IPRTensorError.Code, _ phrases: [String],
                                    sourceLocation: SourceLocation = #_sourceLocation,
                                    _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected IPRTensorError.\(code) containing \(phrases) but nothing was thrown",
                         sourceLocation: sourceLocation)
        } catch let error as IPRTensorError {
            #expect(error.code == code, "code \(error.code): \(error.message)", sourceLocation: sourceLocation)
            for phrase in phrases {
                #expect(error.message.contains(phrase), "message lacks '\(phrase)': \(error.message)",
                        sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected IPRTensorError but got \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Decoding a header (plus data) fails with `.malformedSafeTensors` naming the phrases.
    private static func expectMalformed(header: String, data: [UInt8] = [], _ phrases: String...,
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(.malformedSafeTensors, phrases, sourceLocation: sourceLocation) {
            _ = try SafeTensors.decode(fileBytes(header: header, data: data), source: "bad.safetensors")
        }
    }

    /// A fresh directory under the temporary directory, removed after `body`.
    private static func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("iprtensor-safetensors-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        try body(url.path)
    }

    /// The little-endian length prefix of an encoded file.
    private static func headerLength(of bytes: [UInt8]) -> Int {
        (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
    }

    /// A file with one tensor of every dtype, a scalar, an empty tensor and metadata.
    private static func sampleFile() -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: ["format": "pt", "note": "quote \" backslash \\ newline \n ü"])
        file.set("conv.weight", SafeTensor(floats: [1, -2.5, 3.25, .infinity, -0.0, 1e-30], shape: [2, 3]))
        file.set("half", SafeTensor(dtype: .f16, shape: [3], bytes: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B]))
        file.set("brain", SafeTensor(dtype: .bf16, shape: [3], bytes: [0x80, 0x3F, 0x00, 0xC0, 0x7F, 0x7F]))
        file.set("steps", SafeTensor(int64s: [0, -1, .max, .min], shape: [2, 2]))
        file.set("mask.u8", SafeTensor(uint8s: [0, 7, 255], shape: [3, 1]))
        file.set("flags", SafeTensor(bools: [true, false, true, true], shape: [4]))
        file.set("scalar", SafeTensor(floats: [42], shape: []))
        file.set("empty", SafeTensor(floats: [], shape: [0]))
        file.set("empty.2d", SafeTensor(int64s: [], shape: [3, 0]))
        return file
    }

    // MARK: - Round trips

    /// BF16 keeps a float's top 16 bits, rounded to nearest with ties to even (as `torch.bfloat16`).
    @Test func brainFloatsRoundToNearestEven() throws {
        let values: [Float] = [1, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_8001), -3.0e38, .infinity, 0.1]
        let stored = try SafeTensor(bfloat16s: values, shape: [values.count]).floats().map(\.bitPattern)
        #expect(stored == [0x3F80_0000, 0x3F80_0000, 0x3F82_0000, 0x3F81_0000, 0xFF62_0000, 0x7F80_0000, 0x3DCD_0000])
        #expect(try SafeTensor(bfloat16s: [.nan], shape: [1]).floats()[0].isNaN)
    }

    @Test func roundTripEveryDTypeWithMetadataScalarAndEmpty() throws {
        let file = Self.sampleFile()
        let decoded = try SafeTensors.decode(SafeTensors.encode(file))
        #expect(decoded == file)
        #expect(decoded.names == file.names)
        #expect(decoded.metadata == file.metadata)
        #expect(try decoded.tensor("conv.weight").floats().map(\.bitPattern)
                == [1, -2.5, 3.25, .infinity, -0.0, 1e-30].map { Float($0).bitPattern })
        #expect(try decoded.tensor("half").floats() == [1, -2, 65504])
        #expect(try decoded.tensor("brain").floats() == [1, -2, Float(bitPattern: 0x7F7F_0000)])
        #expect(try decoded.tensor("steps").int64s() == [0, -1, .max, .min])
        #expect(try decoded.tensor("mask.u8").int64s() == [0, 7, 255])
        #expect(try decoded.tensor("flags").int64s() == [1, 0, 1, 1])
        #expect(decoded["flags"]?.bytes == [1, 0, 1, 1])
        let scalar = try decoded.tensor("scalar")
        #expect(scalar.shape == [] && scalar.elementCount == 1)
        #expect(try scalar.floats() == [42])
        let empty = try decoded.tensor("empty")
        #expect(empty.shape == [0] && empty.elementCount == 0 && empty.bytes.isEmpty)
        #expect(try empty.floats() == [])
        #expect(decoded["empty.2d"]?.shape == [3, 0])
    }

    @Test func roundTripThroughDisk() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/model.safetensors"
            let file = Self.sampleFile()
            try SafeTensors.write(file, to: path)
            let read = try SafeTensors.read(contentsOf: path)
            #expect(read == file)
            #expect(read.source == path)
            let onDisk = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(onDisk == SafeTensors.encode(file))
        }
    }

    @Test func emptyFileRoundTrips() throws {
        let bytes = SafeTensors.encode(SafeTensorsFile())
        #expect(bytes.count == 16)
        #expect(Array(bytes[8...]) == Array("{}      ".utf8))
        let decoded = try SafeTensors.decode(bytes)
        #expect(decoded.names.isEmpty && decoded.metadata.isEmpty)
    }

    @Test func setReplacesInPlaceAndAppendsNewNames() {
        var file = SafeTensorsFile()
        file.set("a", SafeTensor(floats: [1], shape: [1]))
        file.set("b", SafeTensor(floats: [2], shape: [1]))
        file.set("a", SafeTensor(int64s: [3, 4], shape: [2]))
        #expect(file.names == ["a", "b"])
        #expect(file["a"]?.dtype == .i64)
        #expect(file["missing"] == nil)
    }

    @Test func decodedNamesFollowDataOffsetsNotHeaderOrder() throws {
        let header = #"{"second":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},"first":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        let file = try SafeTensors.decode(Self.fileBytes(header: header, data: [9, 8, 7]))
        #expect(file.names == ["first", "second"])
        #expect(file["second"]?.bytes == [8, 7])
    }

    // MARK: - Encoding layout

    @Test func dataStartIsEightByteAlignedAndHeaderIsDeterministic() throws {
        for nameLength in 1...24 {
            var file = SafeTensorsFile(metadata: ["b": "2", "a": "1"])
            file.set(String(repeating: "x", count: nameLength), SafeTensor(uint8s: [1, 2, 3], shape: [3]))
            file.set("y", SafeTensor(floats: [5], shape: [1]))
            let bytes = SafeTensors.encode(file)
            let n = Self.headerLength(of: bytes)
            #expect((8 + n) % 8 == 0)
            #expect(bytes.count == 8 + n + 3 + 4)
            #expect(Array(bytes[(8 + n)...]) == [1, 2, 3] + SafeTensor(floats: [5], shape: [1]).bytes)
            let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
            let name = String(repeating: "x", count: nameLength)
            let json = #"{"\#(name)":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"y":{"dtype":"F32","shape":[1],"data_offsets":[3,7]},"__metadata__":{"a":"1","b":"2"}}"#
            #expect(header.hasPrefix(json))
            #expect(header.dropFirst(json.count).allSatisfy { $0 == " " })
            #expect(n - json.utf8.count < 8)
            #expect(SafeTensors.encode(file) == bytes)
        }
    }

    @Test func namesNeedingEscapesRoundTrip() throws {
        var file = SafeTensorsFile(metadata: ["tab\tkey": "ctrl \u{01}\u{1F}", "emoji": "🦀"])
        file.set("a\"b\\c/d\ne", SafeTensor(uint8s: [1], shape: [1]))
        file.set("ünïcødé 名前", SafeTensor(uint8s: [2], shape: [1]))
        let decoded = try SafeTensors.decode(SafeTensors.encode(file))
        #expect(decoded == file)
    }

    // MARK: - F16

    @Test func f16DecodesKnownValues() throws {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0xFC00, 0x0000, 0x8000, 0x03FF, 0x3555]
        let bytes = bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let floats = try SafeTensor(dtype: .f16, shape: [bits.count], bytes: bytes).floats()
        #expect(floats[0] == 1.0)
        #expect(floats[1] == -2.0)
        #expect(floats[2] == 65504)
        #expect(floats[3] == 5.9604645e-8)            // 2^-24, the smallest subnormal
        #expect(floats[3] == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(floats[4] == .infinity)
        #expect(floats[5] == -.infinity)
        #expect(floats[6] == 0 && floats[6].sign == .plus)
        #expect(floats[7] == 0 && floats[7].sign == .minus)
        #expect(floats[8] == Float(1023) * Float(sign: .plus, exponent: -24, significand: 1))
        #expect(floats[9] == 0.33325195)
        let nan = try SafeTensor(dtype: .f16, shape: [], bytes: [0x00, 0x7E]).floats()
        #expect(nan[0].isNaN)
    }

    @Test func manualHalfConversionMatchesFloat16ForEveryBitPattern() {
        for raw in 0...Int(UInt16.max) {
            let bits = UInt16(raw)
            let manual = SafeTensor.floatFromHalfBitsManually(bits)
            let library = SafeTensor.floatFromHalfBits(bits)
            if library.isNaN {
                #expect(manual.isNaN, "bits 0x\(String(bits, radix: 16))")
            } else if manual.bitPattern != library.bitPattern {
                Issue.record("bits 0x\(String(bits, radix: 16)): manual \(manual) != \(library)")
            }
        }
    }

    @Test func accessorsRejectOtherDTypes() {
        Self.expectError(.malformedSafeTensors, ["expected dtype F32, F16 or BF16", "found I64"]) {
            _ = try SafeTensor(int64s: [1], shape: [1]).floats()
        }
        Self.expectError(.malformedSafeTensors, ["expected dtype I64", "found F16"]) {
            _ = try SafeTensor(dtype: .f16, shape: [1], bytes: [0, 0]).int64s()
        }
        Self.expectError(.malformedSafeTensors, ["found F32"]) {
            _ = try SafeTensor(floats: [1], shape: [1]).int64s()
        }
    }

    @Test func missingTensorNamesItAndListsAvailable() throws {
        let file = try SafeTensors.decode(SafeTensors.encode(Self.sampleFile()), source: "model.safetensors")
        Self.expectError(.malformedSafeTensors, ["model.safetensors", "'conv.bias'", "available", "'conv.weight'"]) {
            _ = try file.tensor("conv.bias")
        }
        Self.expectError(.malformedSafeTensors, ["other.safetensors", "no tensors"]) {
            _ = try SafeTensorsFile().tensor("x", source: "other.safetensors")
        }
    }

    // MARK: - Hand-built input

    @Test func handBuiltFileDecodesToExpectedValues() throws {
        // Header written by hand, padded with spaces; data little-endian.
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"idx":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"ok":{"dtype":"BOOL","shape":[2],"data_offsets":[20,22]}}   "#
        let data: [UInt8] = [
            0x00, 0x00, 0x80, 0x3F,                          // 1.0
            0x00, 0x00, 0x20, 0xC1,                          // -10.0
            0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // -2
            0x00, 0x38, 0x00, 0x44,                          // 0.5, 4.0
            0x01, 0x00,                                      // true, false
        ]
        let file = try SafeTensors.decode(Self.fileBytes(header: header, data: data), source: "hand.safetensors")
        #expect(file.names == ["w", "idx", "h", "ok"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.tensor("w").floats() == [1, -10])
        #expect(try file.tensor("idx").int64s() == [-2])
        #expect(try file.tensor("h").floats() == [0.5, 4])
        #expect(try file.tensor("ok").int64s() == [1, 0])
        #expect(file["w"]?.shape == [2])
    }

    @Test func headerWithWhitespaceEscapesAndNullMetadataDecodes() throws {
        let header = "\n{ \"a\\u00e9\\ud83e\\udd80\" : { \"shape\" : [ ] , \"data_offsets\" : [ 0 , 1 ] , \"dtype\" : \"U8\" , \"extra\" : null } ,\r\n \"__metadata__\" : null }\t  "
        let file = try SafeTensors.decode(Self.fileBytes(header: header, data: [5]))
        #expect(file.names == ["aé🦀"])
        #expect(file["aé🦀"]?.bytes == [5])
        #expect(file.metadata.isEmpty)
    }

    // MARK: - Atomic writes

    @Test func atomicWriteLeavesNoTempFileAndSetsPermissions() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/secret.bin"
            try AtomicFile.write([1, 2, 3], to: path, permissions: 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secret.bin"])
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3])

            // Replacing keeps exactly one file with the new contents and the new permissions.
            try AtomicFile.write([9], to: path, permissions: 0o640)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secret.bin"])
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == [9])
            let replaced = try FileManager.default.attributesOfItem(atPath: path)
            #expect((replaced[.posixPermissions] as? NSNumber)?.intValue == 0o640)

            try SafeTensors.write(Self.sampleFile(), to: dir + "/m.safetensors", permissions: 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["m.safetensors", "secret.bin"])
            let model = try FileManager.default.attributesOfItem(atPath: dir + "/m.safetensors")
            #expect((model[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test func atomicWriteOfEmptyBytesAndRelativeDirectoryPart() throws {
        try Self.withTemporaryDirectory { dir in
            try AtomicFile.write([], to: dir + "/empty")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/empty"))) == [])
            #expect(AtomicFile.directoryPart(of: "model.safetensors") == ".")
            #expect(AtomicFile.directoryPart(of: "/model.safetensors") == "/")
            #expect(AtomicFile.directoryPart(of: "a/b/c") == "a/b")
        }
    }

    @Test func writeIntoMissingDirectoryThrowsIO() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/no/such/dir/model.safetensors"
            Self.expectError(.io, [path, "No such file or directory"]) {
                try SafeTensors.write(Self.sampleFile(), to: path)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(left == [])
        }
    }

    @Test func failedRenameRemovesTempFileAndLeavesTargetUntouched() throws {
        try Self.withTemporaryDirectory { dir in
            // A non-empty directory at the target path makes the rename fail after the temp file is written.
            let target = dir + "/model.safetensors"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            try Data([1]).write(to: URL(fileURLWithPath: target + "/keep"))
            Self.expectError(.io, [target, "rename"]) {
                try AtomicFile.write([1, 2, 3], to: target)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["model.safetensors"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["keep"])
        }
    }

    @Test func invalidPermissionsAndPathsThrowIO() throws {
        try Self.withTemporaryDirectory { dir in
            Self.expectError(.io, ["permissions"]) { try AtomicFile.write([1], to: dir + "/x", permissions: 0o17777) }
            Self.expectError(.io, ["directory path"]) { try AtomicFile.write([1], to: dir + "/") }
            #expect((try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true)
        }
        Self.expectError(.io, ["empty path"]) { try AtomicFile.write([1], to: "") }
    }

    // MARK: - File-level errors

    @Test func missingFileThrowsIOWithPath() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/absent.safetensors"
            Self.expectError(.io, [path, "No such file or directory"]) { _ = try SafeTensors.read(contentsOf: path) }
        }
    }

    @Test func readingADirectoryThrowsIO() throws {
        try Self.withTemporaryDirectory { dir in
            Self.expectError(.io, [dir]) { _ = try SafeTensors.read(contentsOf: dir) }
        }
    }

    @Test func emptyFileIsMalformed() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/empty.safetensors"
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            Self.expectError(.malformedSafeTensors, [path, "empty file"]) { _ = try SafeTensors.read(contentsOf: path) }
        }
        Self.expectError(.malformedSafeTensors, ["<memory>", "empty file"]) { _ = try SafeTensors.decode([]) }
    }

    @Test func truncatedFileIsMalformed() {
        for count in 1..<8 {
            Self.expectError(.malformedSafeTensors, ["<memory>", "truncated", "found \(count)"]) {
                _ = try SafeTensors.decode([UInt8](repeating: 2, count: count))
            }
        }
    }

    @Test func headerLengthPastEndOfFile() {
        let bytes = Self.fileBytes(header: "{}", declaredLength: 100)
        Self.expectError(.malformedSafeTensors, ["header length 100", "past end of file", "only 2 bytes"]) {
            _ = try SafeTensors.decode(bytes)
        }
    }

    @Test func hugeHeaderLengthRejectedBeforeAllocating() {
        for length: UInt64 in [100_000_001, 1 << 40, .max] {
            let bytes = Self.fileBytes(header: "{}", declaredLength: length)
            Self.expectError(.malformedSafeTensors, ["huge header length \(length)"]) { _ = try SafeTensors.decode(bytes) }
        }
    }

    @Test func headerNotUTF8() {
        var bytes = Self.fileBytes(header: #"{"a":1}"#)
        bytes[10] = 0xFF
        Self.expectError(.malformedSafeTensors, ["not valid UTF-8", "0xFF", "file offset 10"]) {
            _ = try SafeTensors.decode(bytes)
        }
    }

    @Test func headerNotJSON() {
        Self.expectMalformed(header: #"{"a": }"#, "not valid JSON", "file offset 14", "found '}'")
        Self.expectMalformed(header: "", "not valid JSON")
        Self.expectMalformed(header: "        ", "not valid JSON")
        Self.expectMalformed(header: #"{"a":1} x"#, "not valid JSON", "padding")
        Self.expectMalformed(header: #"{"a":"unterminated}"#, "not valid JSON", "closing")
        Self.expectMalformed(header: #"{"a":01}"#, "not valid JSON", "leading zero")
        Self.expectMalformed(header: #"{"a":"\x"}"#, "not valid JSON", "escape")
        Self.expectMalformed(header: #"{"a":"\udc00"}"#, "not valid JSON", "surrogate")
        Self.expectMalformed(header: "{\"a\":\"tab\there\"}", "not valid JSON", "control")
        Self.expectMalformed(header: #"{"a":tru}"#, "not valid JSON", "true")
        Self.expectMalformed(header: #"{"a":[1,2}"#, "not valid JSON", "']'")
    }

    @Test func deeplyNestedHeaderIsRejectedWithoutCrashing() {
        let header = #"{"a":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        Self.expectMalformed(header: header, "not valid JSON", "nesting")
    }

    @Test func headerNotAnObject() {
        Self.expectMalformed(header: "[1, 2]", "not a JSON object", "array")
        Self.expectMalformed(header: #""F32""#, "not a JSON object", "string")
        Self.expectMalformed(header: "null", "not a JSON object", "null")
    }

    @Test func duplicateTensorName() {
        Self.expectMalformed(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
                             data: [1, 2], "duplicate key 'a'")
    }

    // MARK: - Tensor entry errors

    @Test func tensorEntryNotAnObject() {
        Self.expectMalformed(header: #"{"w":[0,4]}"#, "tensor 'w'", "expected an object", "array")
    }

    @Test func missingFields() {
        Self.expectMalformed(header: #"{"w":{"shape":[1],"data_offsets":[0,1]}}"#, data: [0], "tensor 'w'", "missing field 'dtype'")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","data_offsets":[0,1]}}"#, data: [0], "tensor 'w'", "missing field 'shape'")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1]}}"#, data: [0], "tensor 'w'", "missing field 'data_offsets'")
    }

    @Test func wrongTypedFields() {
        Self.expectMalformed(header: #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,1]}}"#, data: [0],
                             "tensor 'w'", "'dtype' must be a string", "number 4")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":"1","data_offsets":[0,1]}}"#, data: [0],
                             "tensor 'w'", "'shape' must be an array", "string \"1\"")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":{"b":0}}}"#, data: [0],
                             "tensor 'w'", "'data_offsets' must be an array [begin, end]", "object")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}"#, data: [0],
                             "tensor 'w'", "'data_offsets'", "array of 3 elements")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}}"#, data: [0],
                             "tensor 'w'", "shape[0] must be a non-negative integer", "found true")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":["0",1]}}"#, data: [0],
                             "tensor 'w'", "data_offsets[0]", "string \"0\"")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}"#, data: [0],
                             "tensor 'w'", "duplicate field 'dtype'")
    }

    @Test func negativeDimension() {
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[2,-3],"data_offsets":[0,6]}}"#, data: [UInt8](repeating: 0, count: 6),
                             "tensor 'w'", "shape[1]", "-3", "negative")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}"#, data: [0],
                             "tensor 'w'", "data_offsets[0]", "negative")
    }

    @Test func nonIntegerValues() {
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}"#, data: [0],
                             "tensor 'w'", "shape[0]", "1.5", "non-integer")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}"#, data: [0],
                             "tensor 'w'", "data_offsets[1]", "1e0", "non-integer")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,1]}}"#, data: [0],
                             "tensor 'w'", "shape[0]", "too large")
    }

    @Test func unknownDType() {
        Self.expectMalformed(header: #"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0],
                             "bad.safetensors", "tensor 'w'", "unknown dtype 'F8_E4M3'", "F32, F16, BF16, I64, U8, BOOL")
    }

    // MARK: - Layout errors

    @Test func beginAfterEnd() {
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}}"#, data: [0, 0, 0, 0],
                             "tensor 'w'", "data_offsets [4, 2]", "begin > end")
    }

    @Test func offsetsOutOfRange() {
        Self.expectMalformed(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0],
                             "tensor 'w'", "data_offsets [0, 8]", "out of range", "4 bytes")
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775807,9223372036854775807]}}"#,
                             "tensor 'w'", "out of range")
    }

    @Test func overlappingTensors() {
        let header = #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#
        Self.expectMalformed(header: header, data: [UInt8](repeating: 1, count: 6),
                             "tensor 'b' data_offsets [2, 6]", "overlap", "tensor 'a' data_offsets [0, 4]")
        let same = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#
        Self.expectMalformed(header: same, data: [1, 2], "overlap")
    }

    @Test func gapsBetweenTensors() {
        let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#
        Self.expectMalformed(header: header, data: [UInt8](repeating: 1, count: 6),
                             "gap of 2", "tensor 'a' data_offsets [0, 2]", "tensor 'b' data_offsets [4, 6]")
        Self.expectMalformed(header: #"{"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#, data: [1, 2, 3],
                             "gap of 1", "before the first tensor 'b'")
        Self.expectMalformed(header: #"{"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2, 3],
                             "gap of 1", "trailing", "after tensor 'b'")
        Self.expectMalformed(header: "{}", data: [1], "gap of 1", "trailing")
    }

    @Test func shapeByteCountMismatch() {
        let header = #"{"conv.weight":{"dtype":"F32","shape":[4,3,3,3],"data_offsets":[0,100]}}"#
        Self.expectMalformed(header: header, data: [UInt8](repeating: 0, count: 100),
                             "bad.safetensors: tensor 'conv.weight' data_offsets [0, 100] need 100 bytes but shape [4, 3, 3, 3] of F32 is 432 bytes",
                             "shape/byte-count mismatch")
    }

    @Test func shapeProductOverflow() {
        Self.expectMalformed(header: #"{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#,
                             "tensor 'w'", "shape [4294967296, 4294967296]", "overflows")
        Self.expectMalformed(header: #"{"w":{"dtype":"I64","shape":[2305843009213693952],"data_offsets":[0,0]}}"#,
                             "tensor 'w'", "overflows")
    }

    @Test func metadataNotAnObjectOfStrings() {
        Self.expectMalformed(header: #"{"__metadata__":["a"]}"#, "__metadata__", "object of string values", "array")
        Self.expectMalformed(header: #"{"__metadata__":{"epoch":3}}"#, "__metadata__ key 'epoch'", "expected a string", "number 3")
    }

    // MARK: - Robustness

    @Test func corruptedFilesThrowInsteadOfCrashing() throws {
        let valid = SafeTensors.encode(Self.sampleFile())
        for length in 0..<valid.count {
            #expect(throws: IPRTensorError.self) { try SafeTensors.decode(Array(valid[0..<length])) }
        }
        var generator = SplitMix64(seed: 0x5AFE)
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0...Int(generator.next() % 4) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                _ = try SafeTensors.decode(bytes)
            } catch let error as IPRTensorError {
                #expect(error.code == .malformedSafeTensors)
            }
        }
    }

    /// A tensor larger than any buffer of the I/O path survives the round trip exactly (how fast
    /// is a benchmark's business, not a test's).
    @Test func largeTensorRoundTrips() throws {
        let count = 8 << 20  // 32 MiB of F32
        let floats = (0..<count).map { Float($0 & 1023) * 0.5 }
        var file = SafeTensorsFile()
        file.set("big", SafeTensor(floats: floats, shape: [count / 1024, 1024]))
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/big.safetensors"
            try SafeTensors.write(file, to: path)
            let read = try SafeTensors.read(contentsOf: path)
            #expect(try read.tensor("big").shape == [count / 1024, 1024])
            #expect(try read.tensor("big").floats() == floats)
        }
    }

    /// A small deterministic generator for the corruption test.
    private struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
