import Foundation
import NIOPosix
import StrataApp
import StrataCluster
import StrataKernels
import StrataModel
import StrataTestSupport
import StrataWire

/// Workers and coordinators for the integration tests, on loopback.
enum ClusterHarness {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `strata` binary of this build (built with the tests).
    static var executable: String? {
        for configuration in ["debug", "release"] {
            let path = repository.appendingPathComponent(".build/\(configuration)/strata").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Starts `count` workers inside this process.
    static func inProcessWorkers(_ count: Int, model: String, secret: SharedSecret = .none) async throws -> [WorkerServer] {
        var servers: [WorkerServer] = []
        for i in 0..<count {
            servers.append(
                try await WorkerServer.start(
                    WorkerOptions(listen: PeerAddress(host: "127.0.0.1", port: 0), modelPath: model, threads: 1, secret: secret, name: "test-\(i)")))
        }
        return servers
    }

    /// Greedy tokens from the single-process engine, for comparison.
    static func singleProcessTokens(
        model path: String, prompt: [Int], maxTokens: Int, exit: Int?, kvCache: KVCacheType = .f32
    ) throws -> [Int] {
        let loaded = try LoadedModel.load(path: path)
        let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 1), kvCacheType: kvCache)
        var options = GenerationOptions(maxTokens: maxTokens, exit: exit)
        options.stopAtEndOfGeneration = false
        return try Generator(model: model).generate(prompt: prompt, options: options).tokens
    }

    /// A self-signed certificate for 127.0.0.1 and its key (PEM files in a fresh temporary
    /// folder), made with the system's openssl; nil where there is none.
    static func selfSignedCertificate() throws -> (certificate: String, key: String, folder: URL)? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            print("skipped: no /usr/bin/openssl to make a test certificate")
            return nil
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-tls-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw ClusterError.notReady("openssl could not make a test certificate") }
        return (certificate, key, folder)
    }
}
