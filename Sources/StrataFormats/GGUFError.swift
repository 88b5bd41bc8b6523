/// Everything that can be wrong with a GGUF file, each with the context needed to find it.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    case file(FileError)
    case badMagic(UInt32)
    case unsupportedVersion(UInt32)
    case truncated(what: String, offset: UInt64)
    case countTooLarge(what: String, count: UInt64, limit: UInt64)
    case duplicateKey(String)
    case duplicateTensor(String)
    case unknownValueType(key: String, type: UInt32)
    case nestedArrayTooDeep(key: String)
    case unknownTensorType(tensor: String, type: UInt32)
    case tooManyDimensions(tensor: String, count: UInt32)
    case badDimension(tensor: String, dimension: UInt64)
    case elementCountOverflow(tensor: String)
    case rowNotBlockMultiple(tensor: String, rowLength: Int, blockElements: Int)
    case badAlignment(UInt64)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, end: UInt64, fileSize: UInt64)
    case overlappingTensors(String, String)
    case wrongValueType(key: String, expected: String, actual: String)
    case missingKey(String)

    public var description: String {
        switch self {
        case .file(let e): e.description
        case .badMagic(let m): "not a GGUF file (magic 0x\(String(m, radix: 16)), expected 0x46554747 \"GGUF\")"
        case .unsupportedVersion(let v): "unsupported GGUF version \(v) (supported: 2, 3)"
        case .truncated(let what, let offset): "GGUF file truncated while reading \(what) at byte \(offset)"
        case .countTooLarge(let what, let count, let limit): "GGUF \(what) \(count) exceeds the limit \(limit)"
        case .duplicateKey(let k): "GGUF metadata key \"\(k)\" appears twice"
        case .duplicateTensor(let t): "GGUF tensor \"\(t)\" appears twice"
        case .unknownValueType(let key, let type): "GGUF key \"\(key)\" has unknown value type \(type)"
        case .nestedArrayTooDeep(let key): "GGUF key \"\(key)\" nests arrays too deeply"
        case .unknownTensorType(let t, let type): "tensor \"\(t)\" has unknown type \(type)"
        case .tooManyDimensions(let t, let n): "tensor \"\(t)\" has \(n) dimensions (at most 4)"
        case .badDimension(let t, let d): "tensor \"\(t)\" has invalid dimension \(d)"
        case .elementCountOverflow(let t): "tensor \"\(t)\" element count overflows"
        case .rowNotBlockMultiple(let t, let n, let b): "tensor \"\(t)\" row length \(n) is not a multiple of its block size \(b)"
        case .badAlignment(let a): "GGUF alignment \(a) is not a power of two"
        case .misalignedTensor(let t, let o, let a): "tensor \"\(t)\" offset \(o) is not aligned to \(a)"
        case .tensorOutOfBounds(let t, let end, let size): "tensor \"\(t)\" ends at byte \(end), past the end of the file (\(size) bytes)"
        case .overlappingTensors(let a, let b): "tensors \"\(a)\" and \"\(b)\" overlap"
        case .wrongValueType(let key, let expected, let actual): "GGUF key \"\(key)\" is \(actual), expected \(expected)"
        case .missingKey(let k): "GGUF metadata key \"\(k)\" is missing"
        }
    }
}
