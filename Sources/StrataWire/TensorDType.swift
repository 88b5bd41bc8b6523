/// The element type of a tensor on the wire. Elements are little-endian IEEE 754 binary32, binary16, or bfloat16
/// (the upper half of a binary32).
public enum TensorDType: UInt8, CaseIterable, Hashable, Sendable {
    case f32 = 0
    case f16 = 1
    case bf16 = 2

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }
}
