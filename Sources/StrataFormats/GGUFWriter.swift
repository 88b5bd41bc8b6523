import Foundation

/// Builds a GGUF v3 file: metadata in insertion order, then tensor infos, then aligned data.
/// Small files built in memory: the tests' synthetic models. `GGUFStreamWriter` streams large ones.
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        /// ggml order: dimensions[0] is the row length.
        public var dimensions: [Int]
        public var type: GGMLType
        public var data: Data
    }

    public private(set) var metadata = GGUFMetadata()
    public private(set) var tensors: [Tensor] = []
    public var alignment = 32
    public var version: UInt32 = 3

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        metadata.set(key, value)
    }

    /// Adds a tensor; `data` must hold exactly the tensor's bytes.
    public mutating func add(name: String, dimensions: [Int], type: GGMLType, data: Data) throws(GGUFError) {
        let elements = dimensions.reduce(1, *)
        guard let bytes = type.byteCount(elements: elements), bytes == data.count else {
            throw .rowNotBlockMultiple(tensor: name, rowLength: dimensions.first ?? 0, blockElements: type.blockElements)
        }
        guard !tensors.contains(where: { $0.name == name }) else { throw .duplicateTensor(name) }
        tensors.append(Tensor(name: name, dimensions: dimensions, type: type, data: data))
    }

    /// Adds an F32 tensor from floats.
    public mutating func add(name: String, dimensions: [Int], floats: [Float]) throws(GGUFError) {
        let data = floats.withUnsafeBufferPointer { Data(buffer: $0) }
        try add(name: name, dimensions: dimensions, type: .f32, data: data)
    }

    /// The complete file.
    public func serialized() -> Data {
        var out = Data()
        out.append(le: GGUFFile.magic)
        out.append(le: version)
        out.append(le: UInt64(tensors.count))
        var meta = metadata
        if alignment != 32 { meta.set("general.alignment", .uint32(UInt32(alignment))) }
        out.append(le: UInt64(meta.keys.count))
        for key in meta.keys {
            guard let value = meta[key] else { continue }
            out.appendString(key)
            out.append(le: value.type.rawValue)
            out.appendValue(value)
        }
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            offsets.append(offset)
            offset = (offset + tensor.data.count + alignment - 1) / alignment * alignment
        }
        for (tensor, tensorOffset) in zip(tensors, offsets) {
            out.appendString(tensor.name)
            out.append(le: UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { out.append(le: UInt64(d)) }
            out.append(le: tensor.type.rawValue)
            out.append(le: UInt64(tensorOffset))
        }
        out.pad(to: alignment)
        for tensor in tensors {
            out.append(tensor.data)
            out.pad(to: alignment)
        }
        return out
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try serialized().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

extension Data {
    mutating func append<T: FixedWidthInteger>(le value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendString(_ s: String) {
        append(le: UInt64(s.utf8.count))
        append(contentsOf: Array(s.utf8))
    }

    mutating func pad(to alignment: Int) {
        let extra = (alignment - count % alignment) % alignment
        if extra > 0 { append(contentsOf: [UInt8](repeating: 0, count: extra)) }
    }

    mutating func appendValue(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): append(le: v)
        case .int8(let v): append(le: v)
        case .uint16(let v): append(le: v)
        case .int16(let v): append(le: v)
        case .uint32(let v): append(le: v)
        case .int32(let v): append(le: v)
        case .uint64(let v): append(le: v)
        case .int64(let v): append(le: v)
        case .float32(let v): append(le: v.bitPattern)
        case .float64(let v): append(le: v.bitPattern)
        case .bool(let v): append(le: UInt8(v ? 1 : 0))
        case .string(let s): appendString(s)
        case .array(let type, let items):
            append(le: type.rawValue)
            append(le: UInt64(items.count))
            for item in items { appendValue(item) }
        }
    }
}
