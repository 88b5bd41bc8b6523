import Foundation
import StrataWire
import StrataFormats

/// What a checkpoint says about itself, stored as JSON in its header.
public struct CheckpointHeader: Sendable, Equatable, Codable {
    /// One stored tensor, in payload order.
    public struct Tensor: Sendable, Equatable, Codable {
        /// The GGUF name.
        public var name: String
        /// Rows (1 for a vector).
        public var rows: Int
        /// Values per row.
        public var columns: Int
    }

    /// The stored scalar type ("f32").
    public var scalar: String
    /// The model's hyperparameters.
    public var shape: ModelShape
    /// The tensor table, which must match `ParameterLayout(shape:)`.
    public var tensors: [Tensor]
    /// The run's settings.
    public var config: TrainingConfig
    /// Optimizer steps taken.
    public var step: Int
    /// Where the data loader stands.
    public var cursor: DataCursor
    /// `DataLoader.fingerprint` of the training examples, hexadecimal.
    public var dataFingerprint: String
    /// How many training examples the run uses.
    public var exampleCount: Int
    /// The model file training started from, for reference.
    public var baseModel: String?

    /// A header describing the given state.
    public init(
        shape: ModelShape, layout: ParameterLayout, config: TrainingConfig, step: Int, cursor: DataCursor,
        dataFingerprint: UInt64, exampleCount: Int, baseModel: String?
    ) {
        scalar = Float.typeName
        self.shape = shape
        tensors = layout.entries.map { Tensor(name: $0.name, rows: $0.rows, columns: $0.columns) }
        self.config = config
        self.step = step
        self.cursor = cursor
        self.dataFingerprint = String(dataFingerprint, radix: 16)
        self.exampleCount = exampleCount
        self.baseModel = baseModel
    }
}

/// The training checkpoint file: parameters, AdamW moments, step, data cursor and configuration.
///
/// Layout (all integers little-endian):
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 8 | magic `STRATACK` |
/// | 8 | 4 | format version, u32 (1) |
/// | 12 | 4 | header length H, u32 (a multiple of 8) |
/// | 16 | 8 | parameter count N, u64 |
/// | 24 | H | header: UTF-8 JSON (`CheckpointHeader`), padded with spaces |
/// | 24 + H | 4N | parameters, f32 |
/// | 24 + H + 4N | 4N | AdamW first moment, f32 |
/// | 24 + H + 8N | 4N | AdamW second moment, f32 |
/// | 24 + H + 12N | 4 | CRC-32C of every byte before it, u32 |
///
/// Written to a temporary file in the destination's directory, synced and renamed into place.
/// Reading checks, in order: size of the fixed fields, magic, version, lengths against the file
/// size (a short file is reported as truncated), the checksum, then the header's JSON and its
/// agreement with N.
public enum Checkpoint {
    /// The first 8 bytes of every checkpoint.
    public static let magic = Array("STRATACK".utf8)
    /// The format this build writes and reads.
    public static let formatVersion: UInt32 = 1
    static let fixedBytes = 24
    static let maxHeaderBytes = 64 << 20

    /// Writes a checkpoint atomically.
    /// - Parameters:
    ///   - parameters, firstMoment, secondMoment: (N,) each.
    /// - Throws: ``TrainError/io(path:reason:)`` when the file cannot be written.
    public static func write(
        to path: String, header: CheckpointHeader, parameters: UnsafeBufferPointer<Float>,
        firstMoment: UnsafeBufferPointer<Float>, secondMoment: UnsafeBufferPointer<Float>
    ) throws(TrainError) {
        try requireLittleEndian(path)
        let n = parameters.count
        guard firstMoment.count == n, secondMoment.count == n else {
            throw .invalidConfig("checkpoint buffers differ in length")
        }
        var json: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            json = Array(try encoder.encode(header))
        } catch {
            throw .io(path: path, reason: "cannot encode the header: \(error)")
        }
        while json.count % 8 != 0 { json.append(0x20) }
        var fixed = magic
        appendLittleEndian(formatVersion, to: &fixed)
        appendLittleEndian(UInt32(json.count), to: &fixed)
        appendLittleEndian(UInt64(n), to: &fixed)
        let writer = try AtomicFileWriter(path: path)
        try writer.write(fixed)
        try writer.write(json)
        for buffer in [parameters, firstMoment, secondMoment] {
            try writer.write(UnsafeRawBufferPointer(buffer))
        }
        var trailer: [UInt8] = []
        appendLittleEndian(writer.checksum.value, to: &trailer)
        try writer.write(trailer)
        try writer.finish()
    }

    /// Maps and verifies a checkpoint.
    /// - Throws: ``TrainError/truncatedCheckpoint(path:expectedBytes:actualBytes:)`` for a short
    ///   file, ``TrainError/corruptCheckpoint(path:reason:)`` for any other damage,
    ///   ``TrainError/io(path:reason:)`` when it cannot be opened.
    public static func read(from path: String) throws(TrainError) -> LoadedCheckpoint {
        try requireLittleEndian(path)
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .io(path: path, reason: error.description) }
        let bytes = file.bytes
        let size = bytes.count
        guard size >= fixedBytes + 4, let base = bytes.baseAddress else {
            throw .truncatedCheckpoint(path: path, expectedBytes: fixedBytes + 4, actualBytes: size)
        }
        guard Array(bytes[0..<8]) == magic else {
            throw .corruptCheckpoint(path: path, reason: "not a Strata training checkpoint (bad magic)")
        }
        let version = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard version == formatVersion else {
            throw .corruptCheckpoint(path: path, reason: "format version \(version), this build reads \(formatVersion)")
        }
        let headerBytes = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        let count = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        guard headerBytes <= maxHeaderBytes, headerBytes % 8 == 0 else {
            throw .corruptCheckpoint(path: path, reason: "header length \(headerBytes) is invalid")
        }
        // Bound N by the file size before any arithmetic that could overflow.
        guard count <= UInt64(size) / 12 else {
            throw .truncatedCheckpoint(path: path, expectedBytes: Int.max, actualBytes: size)
        }
        let n = Int(count)
        let expected = fixedBytes + headerBytes + 12 * n + 4
        guard size >= expected else { throw .truncatedCheckpoint(path: path, expectedBytes: expected, actualBytes: size) }
        guard size == expected else {
            throw .corruptCheckpoint(path: path, reason: "\(size - expected) unexpected bytes after the checksum")
        }
        let stored = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: expected - 4, as: UInt32.self))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(expected - 4)]))
        guard stored == computed else {
            throw .corruptCheckpoint(
                path: path,
                reason: "checksum mismatch (stored \(String(stored, radix: 16)), computed \(String(computed, radix: 16)))")
        }
        let header: CheckpointHeader
        do {
            header = try JSONDecoder().decode(
                CheckpointHeader.self, from: Data(bytes[fixedBytes..<(fixedBytes + headerBytes)]))
        } catch {
            throw .corruptCheckpoint(path: path, reason: "unreadable header: \(error)")
        }
        guard header.scalar == Float.typeName else {
            throw .corruptCheckpoint(path: path, reason: "scalar type \(header.scalar), expected f32")
        }
        let layout = ParameterLayout(shape: header.shape)
        let table = layout.entries.map { CheckpointHeader.Tensor(name: $0.name, rows: $0.rows, columns: $0.columns) }
        guard header.tensors == table, layout.count == n else {
            throw .corruptCheckpoint(path: path, reason: "the tensor table does not match the model shape")
        }
        return LoadedCheckpoint(path: path, header: header, file: file, payloadOffset: fixedBytes + headerBytes, count: n)
    }

    private static func requireLittleEndian(_ path: String) throws(TrainError) {
        #if _endian(big)
            throw .io(path: path, reason: "checkpoints are little-endian; big-endian hosts are not supported")
        #endif
    }
}

/// A verified checkpoint, mapped read-only.
public final class LoadedCheckpoint: Sendable {
    /// The file it was read from.
    public let path: String
    /// The verified header.
    public let header: CheckpointHeader
    /// Parameters per buffer.
    public let count: Int
    private let file: MappedFile
    private let payloadOffset: Int

    init(path: String, header: CheckpointHeader, file: MappedFile, payloadOffset: Int, count: Int) {
        self.path = path
        self.header = header
        self.file = file
        self.payloadOffset = payloadOffset
        self.count = count
    }

    /// Copies the parameters (section 0), first moment (1) or second moment (2) into `destination`
    /// ((count,) floats). The payload need not be aligned in the mapping, so it is copied as bytes.
    func copy(section: Int, into destination: UnsafeMutablePointer<Float>) {
        guard let base = file.bytes.baseAddress else { return }  // verified non-empty by `read`
        UnsafeMutableRawPointer(destination).copyMemory(
            from: base + payloadOffset + section * 4 * count, byteCount: 4 * count)
    }

    /// Copies the parameters into `destination` ((count,) floats).
    public func copyParameters(into destination: UnsafeMutablePointer<Float>) { copy(section: 0, into: destination) }
    /// Copies the AdamW first moment into `destination`.
    public func copyFirstMoment(into destination: UnsafeMutablePointer<Float>) { copy(section: 1, into: destination) }
    /// Copies the AdamW second moment into `destination`.
    public func copySecondMoment(into destination: UnsafeMutablePointer<Float>) { copy(section: 2, into: destination) }
}

private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
