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
    static func singleProcessTokens(model path: String, prompt: [Int], maxTokens: Int, exit: Int?) throws -> [Int] {
        let loaded = try LoadedModel.load(path: path)
        let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 1))
        var options = GenerationOptions(maxTokens: maxTokens, exit: exit)
        options.stopAtEndOfGeneration = false
        return try Generator(model: model).generate(prompt: prompt, options: options).tokens
    }
}
