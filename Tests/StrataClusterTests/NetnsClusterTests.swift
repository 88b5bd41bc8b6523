import Foundation
import StrataTestSupport
import Testing

/// Workers on separate network "hosts" (namespaces made by `scripts/netns-cluster`): the cluster
/// answers, and a cut link gives a prompt, clear error instead of a hang.
@Suite(.serialized, .timeLimit(.minutes(2))) struct NetnsClusterTests {
    static let script = ClusterHarness.repository.appendingPathComponent("scripts/netns-cluster").path

    @Test func generatesAcrossNamespacesAndFailsFastWhenALinkIsCut() async throws {
        guard let executable = ClusterHarness.executable, let model = ModelFixture.path() else {
            print("NetnsClusterTests: skipped, needs a built strata executable and the model")
            return
        }
        if let reason = await Self.reasonNamespacesAreUnavailable() {
            print("NetnsClusterTests: skipped, \(reason)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-netns-\(getpid())")
        defer { Self.down(directory: directory.path) }

        let up = try await runCommand(
            "/bin/bash",
            [Self.script, "--dir", directory.path, "up", "2", "--model", model, "--threads", "1", "--bin", executable],
            timeout: 45)
        try #require(up.status == 0, "netns-cluster up failed: \(up.stdout)\(up.stderr)")
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
