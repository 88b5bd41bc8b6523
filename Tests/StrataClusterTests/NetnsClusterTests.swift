import Foundation
import Hummingbird
import StrataApp
import StrataCluster
import StrataHTTPAPI
import StrataModel
import StrataTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Workers on separate network "hosts" (namespaces made by `scripts/netns-cluster`): the cluster
/// answers, and a cut link gives a prompt, clear error instead of a hang.
@Suite(.serialized, .timeLimit(.minutes(2))) struct NetnsClusterTests {
    static let script = ClusterHarness.repository.appendingPathComponent("scripts/netns-cluster").path

    /// Two namespace hosts with a worker each, in a fresh folder (nil, having said why, where
    /// that cannot be done here). The caller takes them down with `down(directory:)`.
    static func upTwoHosts(_ name: String) async throws -> (directory: URL, executable: String, model: String)? {
        guard let executable = ClusterHarness.executable, let model = ModelFixture.path() else {
            print("NetnsClusterTests: skipped, needs a built strata executable and the model")
            return nil
        }
        if let reason = await Self.reasonNamespacesAreUnavailable() {
            print("NetnsClusterTests: skipped, \(reason)")
            return nil
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-\(name)-\(getpid())")
        let up = try await runCommand(
            "/bin/bash",
            [Self.script, "--dir", directory.path, "up", "2", "--model", model, "--threads", "1", "--bin", executable],
            timeout: 45)
        if up.status != 0 { Self.down(directory: directory.path) }
        try #require(up.status == 0, "netns-cluster up failed: \(up.stdout)\(up.stderr)")
        return (directory, executable, model)
    }

    @Test func generatesAcrossNamespacesAndFailsFastWhenALinkIsCut() async throws {
        guard let (directory, executable, _) = try await Self.upTwoHosts("netns") else { return }
        defer { Self.down(directory: directory.path) }
        let topology = directory.appendingPathComponent("topology.json").path
        let generate = [
            "generate", "--cluster", topology, "--prompt", "The capital of France is", "--max-tokens", "8", "--threads",
            "1",
        ]

        let answer = try await runCommand(executable, generate, timeout: 30)
        #expect(answer.status == 0, "generate across namespaces failed: \(answer.stderr)")
        #expect(!answer.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "generate printed no text")

        let cut = try await runCommand("/bin/bash", [Self.script, "--dir", directory.path, "cut", "2"], timeout: 10)
        try #require(cut.status == 0, "netns-cluster cut failed: \(cut.stderr)")
        let failed = try await runCommand(executable, generate, timeout: 25)
        #expect(!failed.timedOut, "the coordinator hung for \(Int(failed.seconds)) s after host 2's link was cut")
        #expect(failed.status != 0, "generate succeeded although host 2 was cut off")
        #expect(failed.stderr.contains("10.77.0.3"), "the error does not name the unreachable worker: \(failed.stderr)")
    }

    /// The HTTP API in front of workers on namespace hosts: while host 2's link is cut, requests
    /// are still answered, from the deepest exit host 1 reaches, and say so; when the link heals
    /// the stage is re-added and answers are full depth again, equal to the first.
    @Test func servingAnswersShallowerWhileALinkIsCutAndRecoversWhenItHeals() async throws {
        guard let (directory, _, model) = try await Self.upTwoHosts("netns-serve") else { return }
        defer { Self.down(directory: directory.path) }
        let topology = try ClusterTopology.load(path: directory.appendingPathComponent("topology.json").path)
        let session = try await startCluster(
            modelPath: model, workers: .topology(topology), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1))
        let cluster = session.generator.cluster
        let settings = SchedulerSettings(
            layerCount: 30, exits: [9, 15, 21, 30], mode: .fixed(30), adaptive: AdaptiveSettings(objective: 10),
            headBlocks: APIServer.headBlocks(session.generator.model.model))
        let api = APIServer(generator: session.generator, modelName: "smollm2", scheduler: ServingScheduler(settings: settings))
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) })
        let body = #"{"prompt":"The capital of France is","max_tokens":8,"temperature":0}"#
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let url = try #require(URL(string: "http://127.0.0.1:\(await iterator.next() ?? 0)"))

            let (status, headers, first) = try await HTTPAPITests.post(url, "v1/completions", body)
            #expect(status == 200 && headers["x-strata-depth"] == "30", "\(status) \(headers)")

            let cut = try await runCommand("/bin/bash", [Self.script, "--dir", directory.path, "cut", "2"], timeout: 10)
            try #require(cut.status == 0, "netns-cluster cut failed: \(cut.stderr)")
            let started = ContinuousClock.now
            let (cutStatus, cutHeaders, _) = try await HTTPAPITests.post(url, "v1/completions", body)
            #expect(cutStatus == 200, "a request during the cut was not answered")
            #expect(cutHeaders["x-strata-depth"] == "15", "served at \(cutHeaders["x-strata-depth"] ?? "?") while host 2 was cut off")
            #expect(ContinuousClock.now - started < .seconds(20))
            let (_, health) = try await HTTPAPITests.get(url, "health")
            #expect(health.contains(#""status":"degraded""#) && health.contains("10.77.0.3"), "\(health)")

            let heal = try await runCommand("/bin/bash", [Self.script, "--dir", directory.path, "heal", "2"], timeout: 10)
            try #require(heal.status == 0, "netns-cluster heal failed: \(heal.stderr)")
            for _ in 0..<300 where cluster.reachableDepth < 30 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(cluster.reachableDepth == 30, "the stage was not re-added within 30 s of the link healing")
            let (_, againHeaders, again) = try await HTTPAPITests.post(url, "v1/completions", body)
            #expect(againHeaders["x-strata-depth"] == "30")
            func text(_ json: String) throws -> String {
                try JSONDecoder().decode(CompletionResponse.self, from: Data(json.utf8)).choices.first?.text ?? ""
            }
            #expect(try text(again) == text(first), "the healed cluster answers differently")
            group.cancelAll()
        }
        await session.shutdown()
    }

    /// Nil when this process can make network namespaces and no netns cluster is up already;
    /// otherwise why not.
    static func reasonNamespacesAreUnavailable() async -> String? {
        guard getuid() == 0 else { return "network namespaces need root" }
        guard
            let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(
                where: FileManager.default.isExecutableFile)
        else {
            return "iproute2's ip is not installed"
        }
        if let existing = try? await runCommand(ip, ["link", "show", "strata-br0"], timeout: 10), existing.status == 0 {
            return "a netns cluster (bridge strata-br0) is already up; this test leaves it alone"
        }
        let probe = "strata-probe-\(getpid())"
        guard let made = try? await runCommand(ip, ["netns", "add", probe], timeout: 10), made.status == 0 else {
            return "this machine does not allow creating network namespaces"
        }
        _ = try? await runCommand(ip, ["netns", "delete", probe], timeout: 10)
        return nil
    }

    /// Stops the workers and removes the namespaces and bridge; synchronous so `defer` can call it.
    static func down(directory: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, "--dir", directory, "down"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
