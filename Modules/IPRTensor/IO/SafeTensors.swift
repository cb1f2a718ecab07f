// Safetensors (https://github.com/huggingface/safetensors): value types shared by the reader and the writer.
//
// File layout: an 8-byte little-endian UInt64 header length N, N bytes of UTF-8 JSON (optionally padded
// with trailing spaces), then the data section. Tensor data is little-endian and row-major; each
// tensor's `data_offsets` are `[begin, end)` relative to the start of the data section.
// Decoding lives in SafeTensors+Read.swift, encoding in SafeTensors+Write.swift.

/// The element types of safetensors data that IPRTensor reads and writes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// 32-bit IEEE 754 float.
    case f32 = "F32"
    /// 16-bit IEEE 754 half float.
    case f16 = "F16"
    /// 16-bit brain float: a float's sign, exponent and top 7 mantissa bits (what `torch.bfloat16` saves).
    case bf16 = "BF16"
    /// 64-bit signed integer.
    case i64 = "I64"
    /// 8-bit unsigned integer.
    case u8 = "U8"
    /// Boolean stored as one byte, 0 or 1.
    case bool = "BOOL"

    /// The number of bytes one element occupies.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .i64: 8
        case .u8, .bool: 1
        }
    }
}

/// One tensor of a safetensors file: dtype, shape and raw little-endian row-major bytes.
public struct SafeTensor: Sendable, Equatable {
    /// The element type of `bytes`.
    public var dtype: SafeTensorsDType
    /// The dimensions, outermost first; `[]` is a scalar.
    public var shape: [Int]
    /// The raw little-endian, row-major element data.
    public var bytes: [UInt8]

    /// Wraps raw bytes; `bytes.count` must equal the element count times `dtype.byteSize`.
    public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        let expected = SafeTensor.byteCount(shape: shape, dtype: dtype)
        precondition(expected != nil, "SafeTensor: shape \(shape) has a negative dimension or overflows")
        precondition(expected == bytes.count,
                     "SafeTensor: shape \(shape) of \(dtype.rawValue) needs \(expected ?? -1) bytes, got \(bytes.count)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// An F32 tensor holding `floats`, whose count must match `shape`.
    public init(floats: [Float], shape: [Int]) {
        self.init(dtype: .f32, shape: shape, bytes: SafeTensor.littleEndianBytes(of: floats))
    }

    /// Values stored in half precision (F16, rounded to nearest).
    public init(halves: [Float], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(halves.count * 2)
        for v in halves { let bits = Float16(v).bitPattern; bytes.append(UInt8(bits & 0xFF)); bytes.append(UInt8(bits >> 8)) }
        self.init(dtype: .f16, shape: shape, bytes: bytes)
    }

    /// Values stored as brain floats (BF16: the top 16 bits of each float, rounded to nearest even;
    /// NaN stays NaN).
    public init(bfloat16s values: [Float], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 2)
        for v in values {
            let bits = v.bitPattern
            let rounded = v.isNaN ? UInt16(0x7FC0) : UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            bytes.append(UInt8(rounded & 0xFF)); bytes.append(UInt8(rounded >> 8))
        }
        self.init(dtype: .bf16, shape: shape, bytes: bytes)
    }

    /// An I64 tensor holding `int64s`, whose count must match `shape`.
    public init(int64s: [Int64], shape: [Int]) {
        self.init(dtype: .i64, shape: shape, bytes: SafeTensor.littleEndianBytes(of: int64s))
    }

    /// A U8 tensor holding `uint8s`, whose count must match `shape`.
    public init(uint8s: [UInt8], shape: [Int]) {
        self.init(dtype: .u8, shape: shape, bytes: uint8s)
    }

    /// A BOOL tensor holding `bools` as bytes 0 and 1, whose count must match `shape`.
    public init(bools: [Bool], shape: [Int]) {
        self.init(dtype: .bool, shape: shape, bytes: bools.map { $0 ? 1 : 0 })
    }

    /// The number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int {
        shape.reduce(1, *)
    }

    /// The elements as Float: F32 as stored, F16 and BF16 widened; other dtypes throw `.malformedSafeTensors`.
    public func floats() throws -> [Float] {
        switch dtype {
        case .f32:
            #if _endian(little)
            return SafeTensor.copyElements(bytes, as: Float.self)
            #else
            return SafeTensor.copyElements(bytes, as: UInt32.self).map { Float(bitPattern: UInt32(littleEndian: $0)) }
            #endif
        case .f16:
            let count = bytes.count / 2
            if count == 0 { return [] }
            return bytes.withUnsafeBufferPointer { src in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    for i in 0..<count {
                        let bits = UInt16(src[2 &* i]) | (UInt16(src[2 &* i &+ 1]) &<< 8)
                        out[i] = SafeTensor.floatFromHalfBits(bits)
                    }
                    initialized = count
                }
            }
        case .bf16:
            return (0..<bytes.count / 2).map { i in Float(bitPattern: (UInt32(bytes[2 * i]) | UInt32(bytes[2 * i + 1]) << 8) << 16) }
        case .i64, .u8, .bool:
            throw IPRTensorError(.malformedSafeTensors,
                                 "tensor of shape \(shape): expected dtype F32, F16 or BF16 for floats() but found \(dtype.rawValue)")
        }
    }

    /// The elements as Int64: I64 as stored, U8 and BOOL widened; other dtypes throw `.malformedSafeTensors`.
    public func int64s() throws -> [Int64] {
        switch dtype {
        case .i64:
            #if _endian(little)
            return SafeTensor.copyElements(bytes, as: Int64.self)
            #else
            return SafeTensor.copyElements(bytes, as: Int64.self).map { Int64(littleEndian: $0) }
            #endif
        case .u8, .bool:
            return bytes.map { Int64($0) }
        case .f32, .f16, .bf16:
            throw IPRTensorError(.malformedSafeTensors,
                                 "tensor of shape \(shape): expected dtype I64, U8 or BOOL for int64s() but found \(dtype.rawValue)")
        }
    }

    // MARK: - Internal helpers

    /// The byte size of `shape` elements of `dtype`, or nil for a negative dimension or arithmetic overflow.
    static func byteCount(shape: [Int], dtype: SafeTensorsDType) -> Int? {
        var count = 1
        for dim in shape {
            if dim < 0 { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }

    /// The floats' storage as little-endian bytes, copied in bulk.
    static func littleEndianBytes(of values: [Float]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        return values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
        #endif
    }

    /// The integers' storage as little-endian bytes, copied in bulk.
    static func littleEndianBytes(of values: [Int64]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        return values.map { $0.littleEndian }.withUnsafeBytes { Array($0) }
        #endif
    }

    /// Reinterprets `bytes` as `bytes.count / stride` trivial values of `T` in host byte order (bulk copy).
    static func copyElements<T>(_ bytes: [UInt8], as type: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        if count == 0 { return [] }
        return bytes.withUnsafeBytes { src in
            [T](unsafeUninitializedCapacity: count) { out, initialized in
                UnsafeMutableRawPointer(out.baseAddress!)
                    .copyMemory(from: src.baseAddress!, byteCount: count * MemoryLayout<T>.stride)
                initialized = count
            }
        }
    }

    /// Converts IEEE 754 binary16 bits to Float, using the standard library's Float16 where it exists.
    static func floatFromHalfBits(_ bits: UInt16) -> Float {
        #if os(Linux) || os(Android) || os(Windows)
        return Float(Float16(bitPattern: bits))
        #else
        return floatFromHalfBitsManually(bits)
        #endif
    }

    /// Converts IEEE 754 binary16 bits to Float bit by bit (zeros, subnormals, normals, infinities, NaN payloads).
    static func floatFromHalfBitsManually(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2^-24, exactly representable in Float.
            let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            // Infinity (mantissa 0) or NaN (payload kept in the top mantissa bits).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            // Normal: rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }
}

/// The contents of a safetensors file: named tensors in a fixed order plus string metadata.
public struct SafeTensorsFile: Sendable, Equatable {
    /// The `__metadata__` string map.
    public var metadata: [String: String]
    /// Tensor names in data-offset order as read, or in insertion order.
    public private(set) var names: [String]
    /// Where the contents came from (a path, or "<memory>"), used in error messages; ignored by `==`.
    public var source: String
    private var tensors: [String: SafeTensor]

    /// An empty file with the given metadata.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
        self.names = []
        self.source = "<memory>"
        self.tensors = [:]
    }

    /// The tensor named `name`, or nil.
    public subscript(name: String) -> SafeTensor? {
        tensors[name]
    }

    /// The number of tensors.
    public var count: Int { names.count }

    /// Appends `tensor` under `name`, or replaces the tensor of that name keeping its position.
    public mutating func set(_ name: String, _ tensor: SafeTensor) {
        precondition(name != "__metadata__", "SafeTensorsFile: '__metadata__' is reserved and cannot name a tensor")
        if tensors.updateValue(tensor, forKey: name) == nil {
            names.append(name)
        }
    }

    /// The tensor named `name`; throws `.malformedSafeTensors` naming `source` (default: `self.source`) and a few available names.
    public func tensor(_ name: String, source: String? = nil) throws -> SafeTensor {
        if let tensor = tensors[name] { return tensor }
        let origin = source ?? self.source
        let shown = names.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
        let more = names.count > 8 ? ", … (\(names.count) in all)" : ""
        let available = names.isEmpty ? "the file has no tensors" : "available: \(shown)\(more)"
        throw IPRTensorError(.malformedSafeTensors, "\(origin): no tensor named '\(name)'; \(available)")
    }

    /// Equal when metadata, names (in order) and tensors are equal; `source` is ignored.
    public static func == (a: SafeTensorsFile, b: SafeTensorsFile) -> Bool {
        a.metadata == b.metadata && a.names == b.names && a.tensors == b.tensors
    }

    /// Builds a decoded file; `names` must be exactly the keys of `tensors`.
    init(metadata: [String: String], names: [String], tensors: [String: SafeTensor], source: String) {
        self.metadata = metadata
        self.names = names
        self.tensors = tensors
        self.source = source
    }
}

/// Decoding and encoding of the safetensors format, in memory and on disk.
public enum SafeTensors {
    /// Header lengths above this are rejected before anything is allocated.
    public static let maximumHeaderLength: UInt64 = 100_000_000
}
