import Foundation

/// Errors reading safetensors checkpoints and Hugging Face model folders.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    case file(FileError)
    case truncated(path: String)
    case headerTooLarge(path: String, length: UInt64, limit: UInt64)
    case invalidHeader(path: String, reason: String)
    case unsupportedDType(tensor: String, dtype: String)
    case sizeMismatch(tensor: String, expected: Int, actual: Int)
    case outOfBounds(tensor: String, end: Int, dataSize: Int)
    case overlapping(String, String)
    case duplicateTensor(String)
    case invalidIndex(path: String, reason: String)
    case missingFile(String)

    public var description: String {
        switch self {
        case .file(let e): e.description
        case .truncated(let p): "\(p): safetensors file is shorter than its header says"
        case .headerTooLarge(let p, let n, let limit): "\(p): safetensors header of \(n) bytes exceeds \(limit)"
        case .invalidHeader(let p, let r): "\(p): invalid safetensors header: \(r)"
        case .unsupportedDType(let t, let d): "tensor \"\(t)\" has unsupported dtype \(d) (supported: F32, F16, BF16)"
        case .sizeMismatch(let t, let e, let a): "tensor \"\(t)\" should have \(e) bytes, has \(a)"
        case .outOfBounds(let t, let end, let size): "tensor \"\(t)\" ends at \(end), past the data (\(size) bytes)"
        case .overlapping(let a, let b): "tensors \"\(a)\" and \"\(b)\" overlap"
        case .duplicateTensor(let t): "tensor \"\(t)\" appears in more than one shard"
        case .invalidIndex(let p, let r): "\(p): invalid safetensors index: \(r)"
        case .missingFile(let p): "\(p) does not exist"
        }
    }
}

/// A tensor in a safetensors file: PyTorch shape order (rows first), data in place in the mapping.
///
/// SAFETY (`@unchecked Sendable`): `data` points into the read-only mapping `file`, which this
/// value keeps alive and nobody writes.
public struct SafetensorsTensor: @unchecked Sendable {
    public let name: String
    /// Row-major shape, outermost first (the reverse of GGUF's order).
    public let shape: [Int]
    public let type: GGMLType
    public let data: UnsafeRawBufferPointer
    /// Keeps the mapping alive while `data` is used.
    public let file: MappedFile

    public var elementCount: Int { shape.reduce(1, *) }
}

/// One `.safetensors` file: `u64 header length (little-endian) | JSON header | data`.
public struct SafetensorsFile: Sendable {
    public let file: MappedFile
    public let tensors: [String: SafetensorsTensor]
    public let metadata: [String: String]

    public static let maxHeaderBytes: UInt64 = 100 << 20

    public init(path: String) throws(SafetensorsError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .file(error) }
        guard file.count >= 8 else { throw .truncated(path: path) }
        let headerLength = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= Self.maxHeaderBytes else {
            throw .headerTooLarge(path: path, length: headerLength, limit: Self.maxHeaderBytes)
        }
        guard headerLength <= UInt64(file.count - 8) else { throw .truncated(path: path) }
        let dataStart = 8 + Int(headerLength)
        let headerData = Data(file.bytes[8..<dataStart])
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any]
        else { throw .invalidHeader(path: path, reason: "not a JSON object") }

        let dataSize = file.count - dataStart
        var tensors: [String: SafetensorsTensor] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(String, Int, Int)] = []
        for (name, entry) in header {
            if name == "__metadata__" {
                metadata = (entry as? [String: String]) ?? [:]
                continue
            }
            guard let fields = entry as? [String: Any], let dtype = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int],
                offsets.count == 2
            else { throw .invalidHeader(path: path, reason: "tensor \"\(name)\" lacks dtype, shape or data_offsets") }
            let type: GGMLType
            switch dtype {
            case "F32": type = .f32
            case "F16": type = .f16
            case "BF16": type = .bf16
            default: throw .unsupportedDType(tensor: name, dtype: dtype)
            }
            guard shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw .invalidHeader(path: path, reason: "tensor \"\(name)\" has a negative shape or offsets")
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw .invalidHeader(path: path, reason: "tensor \"\(name)\" is too large") }
                elements = p
            }
            guard let expected = type.byteCount(elements: elements) else {
                throw .invalidHeader(path: path, reason: "tensor \"\(name)\" is too large")
            }
            let actual = offsets[1] - offsets[0]
            guard expected == actual else { throw .sizeMismatch(tensor: name, expected: expected, actual: actual) }
            guard offsets[1] <= dataSize else { throw .outOfBounds(tensor: name, end: offsets[1], dataSize: dataSize) }
            let slice = UnsafeRawBufferPointer(
                rebasing: file.bytes[(dataStart + offsets[0])..<(dataStart + offsets[1])])
            tensors[name] = SafetensorsTensor(name: name, shape: shape, type: type, data: slice, file: file)
            ranges.append((name, offsets[0], offsets[1]))
        }
        ranges.sort { $0.1 < $1.1 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.2 > b.1 {
            throw .overlapping(a.0, b.0)
        }
        self.file = file
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// All tensors of a Hugging Face checkpoint folder: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json`.
public struct SafetensorsCheckpoint: Sendable {
    public let tensors: [String: SafetensorsTensor]

    public init(directory: String) throws(SafetensorsError) {
        let single = directory + "/model.safetensors"
        let index = directory + "/model.safetensors.index.json"
        let fm = FileManager.default
        if fm.fileExists(atPath: single) {
            tensors = try SafetensorsFile(path: single).tensors
            return
        }
        guard fm.fileExists(atPath: index) else { throw .missingFile(single) }
        guard let data = fm.contents(atPath: index),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let weightMap = object["weight_map"] as? [String: String]
        else { throw .invalidIndex(path: index, reason: "no weight_map object") }
        var merged: [String: SafetensorsTensor] = [:]
        for shard in Set(weightMap.values).sorted() {
            guard !shard.contains("/") else { throw .invalidIndex(path: index, reason: "shard name \"\(shard)\" has a path") }
            let file = try SafetensorsFile(path: directory + "/" + shard)
            for (name, tensor) in file.tensors {
                guard merged[name] == nil else { throw .duplicateTensor(name) }
                merged[name] = tensor
            }
        }
        for name in weightMap.keys where merged[name] == nil {
            throw .invalidIndex(path: index, reason: "tensor \"\(name)\" is not in its shard")
        }
        tensors = merged
    }
}
