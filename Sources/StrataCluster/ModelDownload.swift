import Crypto
import Foundation
import NIOCore
import StrataWire

/// A model file arriving in chunks from the coordinator: written to `<hash>.part`, checked
/// against the expected SHA-256 at the end, then renamed to `<hash>.gguf`.
final class ModelDownload {
    /// The reserved `WeightChunk` tensor name for "the whole model file".
    static let fileTensorName = "model.file"

    let hash: ModelHash
    let totalBytes: UInt64
    private let partPath: String
    private let finalPath: String
    private let handle: FileHandle
    private var hasher = SHA256()
    private var received: UInt64 = 0

    init(hash: ModelHash, totalBytes: UInt64, directory: String) throws {
        guard totalBytes > 0, totalBytes <= 1 << 40 else { throw ClusterError.modelFile("implausible model size \(totalBytes)") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.hash = hash
        self.totalBytes = totalBytes
        partPath = directory + "/\(hash).part"
        finalPath = directory + "/\(hash).gguf"
        guard FileManager.default.createFile(atPath: partPath, contents: nil) else {
            throw ClusterError.modelFile("cannot create \(partPath)")
        }
        guard let handle = FileHandle(forWritingAtPath: partPath) else { throw ClusterError.modelFile("cannot write \(partPath)") }
        self.handle = handle
    }

    /// Appends a chunk; chunks must arrive in order and stay within the declared size.
    func write(_ chunk: WeightChunk) throws {
        guard chunk.totalBytes == totalBytes, chunk.byteOffset == received else {
            throw ClusterError.modelFile("chunk at \(chunk.byteOffset) of \(chunk.totalBytes), expected \(received) of \(totalBytes)")
        }
        let bytes = chunk.data.readableBytesView
        guard received + UInt64(bytes.count) <= totalBytes else { throw ClusterError.modelFile("chunks exceed the declared size") }
        let data = Data(bytes)
        try handle.write(contentsOf: data)
        hasher.update(data: data)
        received += UInt64(bytes.count)
    }

    /// Checks size and hash, then publishes the file. Returns its path.
    func finish() throws -> String {
        try handle.close()
        guard received == totalBytes else {
            abandon()
            throw ClusterError.modelFile("stream ended at \(received) of \(totalBytes) bytes")
        }
        guard let digest = ModelHash(Array(hasher.finalize())), digest == hash else {
            abandon()
            throw ClusterError.modelFile("the streamed model's SHA-256 does not match \(hash)")
        }
        try? FileManager.default.removeItem(atPath: finalPath)
        try FileManager.default.moveItem(atPath: partPath, toPath: finalPath)
        return finalPath
    }

    /// Drops a partial file.
    func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: partPath)
    }
}
