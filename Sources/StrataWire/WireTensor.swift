import NIOCore

/// A row-major matrix as it crosses the wire: a header (dtype, rows, columns, byte count) and raw little-endian
/// element bytes. `data` is a slice of the received frame, so parsing copies nothing.
///
/// Layout: `data` holds (rows, columns) elements row-major, `rows × columns × dtype.byteSize` bytes.
public struct WireTensor: Equatable, Sendable {
    /// Header bytes: dtype u8 | rows u32 | columns u32 | byte count u32.
    public static let headerSize = 13

    public let dtype: TensorDType
    public let rows: Int
    public let columns: Int
    /// (rows, columns) elements, row-major, little-endian.
    public let data: ByteBuffer

    /// - Parameters:
    ///   - dtype: element type.
    ///   - rows: row count.
    ///   - columns: elements per row.
    ///   - data: exactly `rows × columns × dtype.byteSize` readable bytes, little-endian.
    /// - Returns: nil when `data` has another length, or the size is negative or beyond what a frame can carry.
    public init?(dtype: TensorDType, rows: Int, columns: Int, data: ByteBuffer) {
        guard let expected = Self.byteCount(dtype: dtype, rows: rows, columns: columns),
            UInt64(data.readableBytes) == expected
        else { return nil }
        self.init(unchecked: dtype, rows: rows, columns: columns, data: data)
    }

    init(unchecked dtype: TensorDType, rows: Int, columns: Int, data: ByteBuffer) {
        self.dtype = dtype
        self.rows = rows
        self.columns = columns
        self.data = data
    }

    /// rows × columns × element size, or nil when negative or beyond u32 (no frame could carry it).
    static func byteCount(dtype: TensorDType, rows: Int, columns: Int) -> UInt64? {
        guard rows >= 0, columns >= 0 else { return nil }
        let (elements, o1) = UInt64(rows).multipliedReportingOverflow(by: UInt64(columns))
        let (bytes, o2) = elements.multipliedReportingOverflow(by: UInt64(dtype.byteSize))
        guard !o1, !o2, bytes <= UInt64(UInt32.max) else { return nil }
        return bytes
    }
}

extension WireTensor {
    /// Encodes `values` as a (rows, columns) tensor of `dtype`, rounding to nearest-even for f16 and bf16.
    ///
    /// `values.count` must equal `rows × columns` (a contract with the caller, checked by a precondition).
    /// - Parameters:
    ///   - values: (rows, columns) row-major.
    ///   - rows: row count.
    ///   - columns: elements per row.
    ///   - dtype: element type on the wire.
    ///   - allocator: where the bytes are allocated.
    public init(
        values: [Float], rows: Int, columns: Int, dtype: TensorDType,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) {
        precondition(
            rows >= 0 && columns >= 0 && rows.multipliedReportingOverflow(by: columns) == (values.count, false),
            "values must hold rows × columns elements")
        var buffer = allocator.buffer(capacity: values.count * dtype.byteSize)
        switch dtype {
        case .f32:
            for v in values { buffer.writeInteger(v.bitPattern, endianness: .little) }
        case .f16:
            for v in values { buffer.writeInteger(HalfConversion.f16Bits(v), endianness: .little) }
        case .bf16:
            for v in values { buffer.writeInteger(HalfConversion.bf16Bits(v), endianness: .little) }
        }
        self.init(unchecked: dtype, rows: rows, columns: columns, data: buffer)
    }

    /// The elements widened to Float: (rows, columns) row-major.
    public func floats() -> [Float] {
        var reader = data
        var out = [Float]()
        out.reserveCapacity(rows * columns)
        switch dtype {
        case .f32:
            while let bits = reader.readInteger(endianness: .little, as: UInt32.self) {
                out.append(Float(bitPattern: bits))
            }
        case .f16:
            while let bits = reader.readInteger(endianness: .little, as: UInt16.self) {
                out.append(HalfConversion.float(f16Bits: bits))
            }
        case .bf16:
            while let bits = reader.readInteger(endianness: .little, as: UInt16.self) {
                out.append(HalfConversion.float(bf16Bits: bits))
            }
        }
        return out
    }
}

// MARK: - Codec

extension PayloadReader {
    /// A tensor header and its data; the byte count must equal rows × columns × element size.
    mutating func tensor(_ field: String) throws(WireError) -> WireTensor {
        let rawType = try integer(field + ".dtype", as: UInt8.self)
        guard let dtype = TensorDType(rawValue: rawType) else { throw .invalidDType(rawType) }
        let rows = try integer(field + ".rows", as: UInt32.self)
        let columns = try integer(field + ".columns", as: UInt32.self)
        let byteCount = try integer(field + ".byteCount", as: UInt32.self)
        // rows × columns × size ≤ 2^32 · 2^32 · 4 overflows UInt64 only in theory; check anyway.
        let (elements, o1) = UInt64(rows).multipliedReportingOverflow(by: UInt64(columns))
        let (expected, o2) = elements.multipliedReportingOverflow(by: UInt64(dtype.byteSize))
        guard !o1, !o2, expected == UInt64(byteCount) else {
            throw .tensorSizeMismatch(kind: kind, expected: o1 || o2 ? UInt64.max : expected, actual: UInt64(byteCount))
        }
        let data = try slice(field + ".data", length: Int(byteCount))
        return WireTensor(unchecked: dtype, rows: Int(rows), columns: Int(columns), data: data)
    }
}

extension PayloadWriter {
    mutating func tensor(_ tensor: WireTensor) {
        integer(tensor.dtype.rawValue)
        integer(UInt32(tensor.rows))
        integer(UInt32(tensor.columns))
        integer(UInt32(tensor.data.readableBytes))
        bytes(tensor.data)
    }
}
