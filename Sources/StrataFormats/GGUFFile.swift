/// Limits applied while parsing, so a hostile header cannot make the reader allocate without bound.
public struct GGUFLimits: Sendable {
    public var maxStringBytes = 1 << 24
    public var maxArrayDepth = 2
    public var maxDimensions = 4

    public init() {}
}

/// One tensor's description and where its bytes lie in the mapped file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: dimensions[0] is the contiguous (row) length; a 2-D tensor has dimensions[1] rows.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset relative to the start of the data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Row length (ne0) and row count (product of the other dimensions).
    public var rowLength: Int { dimensions.first ?? 1 }
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
}

/// A parsed, validated GGUF file (versions 2 and 3). Tensor data stays in the mapping.
public struct GGUFFile: Sendable {
    public let file: MappedFile
    public let version: UInt32
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute offset of the tensor data section.
    public let dataOffset: Int
    private let tensorIndex: [String: Int]

    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian

    /// Maps and validates the file at `path`.
    public init(path: String, limits: GGUFLimits = GGUFLimits()) throws(GGUFError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .file(error) }
        try self.init(file: file, limits: limits)
    }

    /// Validates an already mapped file, in the order ggml does: magic and version, counts,
    /// duplicates, types, dimensions, element counts, block multiples, alignment, offsets.
    public init(file: MappedFile, limits: GGUFLimits = GGUFLimits()) throws(GGUFError) {
        self.file = file
        var cursor = ByteCursor(file.bytes)
        let magic = try cursor.read(UInt32.self, what: "magic")
        guard magic == Self.magic else { throw .badMagic(magic) }
        version = try cursor.read(UInt32.self, what: "version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }

        let tensorCount = try cursor.read(UInt64.self, what: "tensor count")
        let kvCount = try cursor.read(UInt64.self, what: "metadata count")
        // Each tensor info needs ≥ 28 bytes (empty name, 1 dim, type, offset); each KV ≥ 12.
        let remaining = UInt64(cursor.remaining)
        guard tensorCount <= remaining / 28 else {
            throw .countTooLarge(what: "tensor count", count: tensorCount, limit: remaining / 28)
        }
        guard kvCount <= remaining / 12 else {
            throw .countTooLarge(what: "metadata count", count: kvCount, limit: remaining / 12)
        }

        var metadata = GGUFMetadata()
        for _ in 0..<kvCount {
            let key = try cursor.readString(what: "metadata key", limit: limits.maxStringBytes)
            let rawType = try cursor.read(UInt32.self, what: "value type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .unknownValueType(key: key, type: rawType)
            }
            let value = try Self.readValue(type, key: key, cursor: &cursor, limits: limits, depth: 0)
            guard metadata.set(key, value) else { throw .duplicateKey(key) }
        }
        self.metadata = metadata

        let alignment = try metadata.int("general.alignment") ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .badAlignment(UInt64(alignment)) }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(Int(tensorCount))
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let info = try Self.readTensorInfo(cursor: &cursor, limits: limits)
            guard index[info.name] == nil else { throw .duplicateTensor(info.name) }
            index[info.name] = infos.count
            infos.append(info)
        }

        let headerEnd = cursor.offset
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        try Self.validatePlacement(infos, dataOffset: dataOffset, fileSize: file.count, alignment: alignment)
        tensors = infos
        tensorIndex = index
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of a tensor, in place in the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + tensor.byteCount)])
    }

    // MARK: - Parsing pieces

    private static func readValue(
        _ type: GGUFValueType, key: String, cursor: inout ByteCursor, limits: GGUFLimits, depth: Int
    ) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, what: key))
        case .int8: return .int8(try cursor.read(Int8.self, what: key))
        case .uint16: return .uint16(try cursor.read(UInt16.self, what: key))
        case .int16: return .int16(try cursor.read(Int16.self, what: key))
        case .uint32: return .uint32(try cursor.read(UInt32.self, what: key))
        case .int32: return .int32(try cursor.read(Int32.self, what: key))
        case .uint64: return .uint64(try cursor.read(UInt64.self, what: key))
        case .int64: return .int64(try cursor.read(Int64.self, what: key))
        case .float32: return .float32(try cursor.readFloat(what: key))
        case .float64: return .float64(try cursor.readDouble(what: key))
        case .bool:
            let byte = try cursor.read(UInt8.self, what: key)
            return .bool(byte != 0)
        case .string: return .string(try cursor.readString(what: key, limit: limits.maxStringBytes))
        case .array:
            guard depth < limits.maxArrayDepth else { throw .nestedArrayTooDeep(key: key) }
            let rawElementType = try cursor.read(UInt32.self, what: "array type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawElementType) else {
                throw .unknownValueType(key: key, type: rawElementType)
            }
            let count = try cursor.read(UInt64.self, what: "array length of \(key)")
            // Bound the count by the bytes left before allocating: every element takes at least
            // its fixed size (strings and arrays at least 8 bytes of length).
            let minSize = UInt64(elementType.fixedSize ?? 8)
            let limit = UInt64(cursor.remaining) / minSize
            guard count <= limit else { throw .countTooLarge(what: "array length of \(key)", count: count, limit: limit) }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count {
                items.append(try readValue(elementType, key: key, cursor: &cursor, limits: limits, depth: depth + 1))
            }
            return .array(elementType, items)
        }
    }

    private static func readTensorInfo(cursor: inout ByteCursor, limits: GGUFLimits) throws(GGUFError) -> GGUFTensorInfo {
        let name = try cursor.readString(what: "tensor name", limit: limits.maxStringBytes)
        let nDims = try cursor.read(UInt32.self, what: "dimension count of \(name)")
        guard nDims >= 1, nDims <= UInt32(limits.maxDimensions) else {
            throw .tooManyDimensions(tensor: name, count: nDims)
        }
        var dims: [Int] = []
        for _ in 0..<nDims {
            let d = try cursor.read(UInt64.self, what: "dimension of \(name)")
            guard d <= UInt64(Int32.max) else { throw .badDimension(tensor: name, dimension: d) }
            dims.append(Int(d))
        }
        let rawType = try cursor.read(UInt32.self, what: "type of \(name)")
        let offset = try cursor.read(UInt64.self, what: "offset of \(name)")
        guard let type = GGMLType(rawValue: rawType) else { throw .unknownTensorType(tensor: name, type: rawType) }
        var elements = 1
        for d in dims {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .elementCountOverflow(tensor: name) }
            elements = product
        }
        guard dims[0] % type.blockElements == 0 else {
            throw .rowNotBlockMultiple(tensor: name, rowLength: dims[0], blockElements: type.blockElements)
        }
        guard let bytes = type.byteCount(elements: elements) else { throw .elementCountOverflow(tensor: name) }
        guard offset <= UInt64(Int.max) else {
            throw .tensorOutOfBounds(tensor: name, end: offset, fileSize: UInt64(cursor.bytes.count))
        }
        return GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset), byteCount: bytes)
    }

    private static func validatePlacement(
        _ infos: [GGUFTensorInfo], dataOffset: Int, fileSize: Int, alignment: Int
    ) throws(GGUFError) {
        for info in infos {
            guard info.offset % alignment == 0 else {
                throw .misalignedTensor(tensor: info.name, offset: UInt64(info.offset), alignment: alignment)
            }
            let (start, o1) = dataOffset.addingReportingOverflow(info.offset)
            let (end, o2) = start.addingReportingOverflow(info.byteCount)
            guard !o1, !o2, end <= fileSize else {
                throw .tensorOutOfBounds(
                    tensor: info.name, end: o1 || o2 ? UInt64.max : UInt64(end), fileSize: UInt64(fileSize))
            }
        }
        let sorted = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw .overlappingTensors(a.name, b.name)
        }
    }
}
