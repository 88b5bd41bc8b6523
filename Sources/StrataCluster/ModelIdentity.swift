import Crypto
import Foundation
import StrataWire

/// The content hash that identifies a model file on the wire: SHA-256 of its bytes.
public enum ModelIdentity {
    /// Hashes the file (or, for a Hugging Face folder, its config and weight files in name order).
    public static func hash(path: String) throws -> ModelHash {
        var hasher = SHA256()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ClusterError.modelFile("\(path) does not exist")
        }
        let files: [String]
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { $0 == "config.json" || $0.hasSuffix(".safetensors") || $0 == "tokenizer.json" }.sorted()
            files = names.map { path + "/" + $0 }
        } else {
            files = [path]
        }
        for file in files {
            guard let handle = FileHandle(forReadingAtPath: file) else { throw ClusterError.modelFile("cannot read \(file)") }
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        }
        guard let hash = ModelHash(Array(hasher.finalize())) else { throw ClusterError.modelFile("hash of \(path)") }
        return hash
    }
}

/// Errors of the cluster runtime, each saying which peer or step it concerns.
public enum ClusterError: Error, Equatable, Sendable, CustomStringConvertible {
    case modelFile(String)
    case invalidAddress(String)
    case refused(peer: String, reason: String)
    case connectionLost(peer: String)
    case remote(peer: String, message: String)
    case timedOut(peer: String, what: String)
    case protocolViolation(peer: String, what: String)
    case notReady(String)
    /// A stage the step needed is gone; exits up to `reachableDepth` still answer.
    case stageLost(peer: String, reachableDepth: Int)

    public var description: String {
        switch self {
        case .modelFile(let m): "model file: \(m)"
        case .invalidAddress(let a): "\"\(a)\" is not an address of the form host:port"
        case .refused(let peer, let reason): "\(peer) refused the connection: \(reason)"
        case .connectionLost(let peer): "lost the connection to \(peer)"
        case .remote(let peer, let message): "\(peer) reported: \(message)"
        case .timedOut(let peer, let what): "\(peer) did not answer \(what) in time"
        case .protocolViolation(let peer, let what): "\(peer) broke the protocol: \(what)"
        case .notReady(let what): "the cluster is not ready: \(what)"
        case .stageLost(let peer, let depth):
            depth > 0 ? "the worker at \(peer) is gone; exits up to \(depth) still answer" : "the worker at \(peer) held the first blocks and is gone"
        }
    }
}

/// "host:port" parsed; IPv6 literals in brackets ("[::1]:7600").
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(ClusterError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw .invalidAddress(text) }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalidAddress(text) }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
