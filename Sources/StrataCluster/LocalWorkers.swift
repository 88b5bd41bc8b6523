import Foundation

/// Worker processes started on this machine, on loopback, each on a port the OS chooses: the
/// embedded default cluster. They are terminated with this object (or by `terminate()`).
public final class LocalWorkers: Sendable {
    public let addresses: [PeerAddress]
    private let processes: [Process]

    private init(addresses: [PeerAddress], processes: [Process]) {
        self.addresses = addresses
        self.processes = processes
    }

    /// The running `strata` binary, for starting workers of the same build.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts `count` workers and waits until each listens.
    /// - Parameters:
    ///   - executable: the `strata` binary.
    ///   - threadsEach: compute threads per worker.
    public static func launch(
        count: Int, executable: String, modelPath: String, threadsEach: Int, secretFile: String? = nil
    ) async throws -> LocalWorkers {
        var processes: [Process] = []
        var addresses: [PeerAddress] = []
        do {
            for i in 0..<count {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                var arguments = [
                    "worker", "--listen", "127.0.0.1:0", "--model", modelPath, "--threads", String(threadsEach),
                    "--name", "local-\(i + 1)", "--exit-with-parent",
                ]
                if let secretFile { arguments += ["--secret-file", secretFile] }
                process.arguments = arguments
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                processes.append(process)
                let line = try await firstLine(of: pipe)
                guard let address = line.split(separator: " ").last.map(String.init),
                    line.hasPrefix("listening on"), let parsed = try? PeerAddress(parsing: address)
                else { throw ClusterError.notReady("local worker \(i + 1) printed \"\(line)\" instead of its address") }
                addresses.append(parsed)
            }
        } catch {
            for p in processes where p.isRunning { p.terminate() }
            throw error
        }
        return LocalWorkers(addresses: addresses, processes: processes)
    }

    /// Stops every worker process and waits for it to exit.
    public func terminate() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }

    /// Kills one worker abruptly (for failure tests).
    public func kill(_ index: Int) {
        guard processes.indices.contains(index), processes[index].isRunning else { return }
        Foundation.kill(processes[index].processIdentifier, SIGKILL)
        processes[index].waitUntilExit()
    }

    deinit { terminate() }

    /// Reads the first line a child prints, on a thread of its own (the read blocks); a child
    /// that exits first closes the pipe and ends the wait.
    private static func firstLine(of pipe: Pipe) async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, any Error>) in
            let reader = pipe.fileHandleForReading
            let thread = Thread {
                var bytes: [UInt8] = []
                while true {
                    let chunk = reader.readData(ofLength: 1)
                    if chunk.isEmpty { break }
                    if chunk[chunk.startIndex] == UInt8(ascii: "\n") { break }
                    bytes.append(chunk[chunk.startIndex])
                }
                if bytes.isEmpty {
                    c.resume(throwing: ClusterError.notReady("a local worker exited before listening"))
                } else {
                    c.resume(returning: String(decoding: bytes, as: UTF8.self))
                }
            }
            thread.start()
        }
    }
}
