import CStrataKernels
import StrataFormats

/// A weight matrix read in place in its stored format: `rows` output rows of `columns` inputs
/// (GGUF `[ne0 = columns, ne1 = rows]`; PyTorch `[rows, columns]`), row r at `base + r * rowStride`.
///
/// SAFETY (`@unchecked Sendable`): `base` points into immutable memory (a read-only file
/// mapping or a buffer nobody writes after construction) that `owner` keeps alive.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let base: UnsafeRawPointer
    public let rowStride: Int
    private let owner: AnyObject?

    /// Wraps `bytes` holding `rows × columns` values of `type`.
    public init(type: GGMLType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject?) throws(KernelError) {
        guard type.isComputeSupported else { throw .unsupportedType(type) }
        guard rows > 0, columns > 0, let rowBytes = type.byteCount(elements: columns) else {
            throw .shapeMismatch(what: "weight matrix", expected: "rows and columns a multiple of \(type.blockElements)", actual: "\(rows)×\(columns)")
        }
        guard let base = bytes.baseAddress, bytes.count == rowBytes * rows else {
            throw .shapeMismatch(what: "weight matrix bytes", expected: "\(rowBytes * rows)", actual: "\(bytes.count)")
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.base = base
        self.rowStride = rowBytes
        self.owner = owner
    }

    /// Bytes read by one full matrix-vector product.
    public var byteCount: Int { rows * rowStride }

    /// Decodes row `r` into `out` (`columns` floats).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row out of range")
        _ = st_dequantize_row(Int32(type.rawValue), base + r * rowStride, out, Int64(columns))
    }

    /// Row `r` as floats (for embedding lookups and tests).
    public func row(_ r: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: columns) { buffer, count in
            dequantizeRow(r, into: buffer.baseAddress!)  // capacity is columns > 0
            count = columns
        }
    }
}

/// Errors from kernels: contracts between our own code that inputs from outside could break.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedType(GGMLType)
    case shapeMismatch(what: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .unsupportedType(let t): "tensor type \(t) is not supported by the kernels (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K)"
        case .shapeMismatch(let what, let expected, let actual): "\(what): expected \(expected), got \(actual)"
        }
    }
}
