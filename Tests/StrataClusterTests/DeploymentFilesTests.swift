import Foundation
import Testing

/// The deployment files (scripts, systemd units, Kubernetes manifests) call `strata` only with
/// options its subcommands really have, and the manifests fit together.
@Suite struct DeploymentFilesTests {
    static let repository = ClusterHarness.repository
    static let subcommands = ["worker", "serve", "generate"]

    /// One `--flag` given to `strata <subcommand>` somewhere in the deployment files.
    struct FlagUse: CustomStringConvertible {
        var source: String
        var subcommand: String
        var flag: String
        var description: String { "\(source): strata \(subcommand) \(flag)" }
    }

    @Test func deploymentFilesUseOnlyRealOptions() async throws {
        guard let executable = ClusterHarness.executable else {
            print("DeploymentFilesTests: skipped the flag check, no strata executable in .build/{debug,release}")
            return
        }
        var known: [String: Set<String>] = [:]
        for subcommand in Self.subcommands {
            let help = try await runCommand(executable, [subcommand, "--help"])
            try #require(help.status == 0, "strata \(subcommand) --help failed: \(help.stderr)")
            known[subcommand] = Self.longOptions(inHelp: help.stdout)
            try #require(known[subcommand]?.contains("--threads") == true, "unexpected help text for \(subcommand)")
        }
        var uses: [FlagUse] = []
        for file in Self.scripts + Self.systemdFiles + Self.manifests {
            let text = try Self.read(file)
            uses += Self.invocations(in: text).map { FlagUse(source: file, subcommand: $0.subcommand, flag: $0.flag) }
            if file.hasPrefix("cluster/k8s/") {
                for args in Self.yamlArgsLists(in: text) {
                    guard let subcommand = args.first, Self.subcommands.contains(subcommand) else { continue }
                    uses += args.filter { $0.hasPrefix("--") }.map {
                        FlagUse(source: file + " args", subcommand: subcommand, flag: $0)
                    }
                }
            }
        }
        let readme = try Self.read("README.md")
        if let start = readme.range(of: "\n## Operations\n") {
            let section = readme[start.upperBound...].components(separatedBy: "\n## ").first ?? ""
            uses += Self.invocations(in: section).map {
                FlagUse(source: "README.md Operations", subcommand: $0.subcommand, flag: $0.flag)
            }
        }
        uses += try await clusterUpDryRunUses()
        uses += try extraServeArgumentUses()

        // Every kind of file must contribute, so a broken extractor cannot pass silently.
        for (prefix, subcommands) in [
            ("cluster/systemd/", ["worker", "serve"]), ("cluster/k8s/", ["worker", "serve"]),
            ("cluster-up --dry-run", ["worker", "serve"]), ("scripts/netns-cluster", ["worker"]),
            ("README.md Operations", ["worker", "generate"]),
        ] {
            for subcommand in subcommands {
                #expect(
                    uses.contains { $0.source.hasPrefix(prefix) && $0.subcommand == subcommand },
                    "no strata \(subcommand) found in \(prefix)")
            }
        }
        for use in uses {
            #expect(
                known[use.subcommand]?.contains(use.flag) == true, "\(use) is not an option of strata \(use.subcommand)"
            )
        }
    }

    @Test func kubernetesManifestsHaveTheExpectedKinds() throws {
        var found: [String] = []
        for file in Self.manifests {
            let text = try Self.read(file)
            #expect(!text.contains("\t"), "\(file) has a tab; YAML indents with spaces")
            #expect(
                !text.split(separator: "\n").contains {
                    $0.trimmingCharacters(in: .whitespaces).hasPrefix("namespace:")
                },
                "\(file) names a namespace; the manifests must be namespace-agnostic")
            for document in Self.yamlDocuments(text) {
                let kind = Self.topLevelValue("kind", in: document)
                let name = Self.firstValue(of: "name", in: document)
                #expect(Self.topLevelValue("apiVersion", in: document) != nil, "\(file): a document without apiVersion")
                found.append("\(kind ?? "?")/\(name ?? "?")")
            }
        }
        #expect(
            found.sorted() == [
                "ConfigMap/strata-config", "Deployment/strata-coordinator", "PersistentVolumeClaim/strata-models",
                "Secret/strata-secret", "Service/strata-coordinator", "Service/strata-worker",
                "StatefulSet/strata-worker",
            ])
    }

    @Test func statefulSetReplicasMatchTheCoordinatorsWorkerList() throws {
        let workers = Self.yamlDocuments(try Self.read("cluster/k8s/workers.yaml"))
        let statefulSet = try #require(workers.first { Self.topLevelValue("kind", in: $0) == "StatefulSet" })
        let service = try #require(workers.first { Self.topLevelValue("kind", in: $0) == "Service" })
        let replicas = try #require(Self.firstValue(of: "replicas", in: statefulSet).flatMap { Int($0) })
        #expect(Self.firstValue(of: "serviceName", in: statefulSet) == "strata-worker")
        #expect(Self.firstValue(of: "clusterIP", in: service) == "None", "the worker Service must be headless")
        let workerArgs = try #require(Self.yamlArgsLists(in: statefulSet.joined(separator: "\n")).first)
        let listen = try #require(Self.value(after: "--listen", in: workerArgs))
        let port = try #require(listen.split(separator: ":").last.map(String.init))
        #expect(Self.firstValue(of: "port", in: service) == port)

        let coordinator = try Self.read("cluster/k8s/coordinator.yaml")
        let serveArgs = try #require(Self.yamlArgsLists(in: coordinator).first { $0.first == "serve" })
        let list = try #require(Self.value(after: "--workers", in: serveArgs)).split(separator: ",").map(String.init)
        #expect(list.count == replicas, "the StatefulSet runs \(replicas) workers but --workers names \(list.count)")
        #expect(list == (0..<replicas).map { "strata-worker-\($0).strata-worker:\(port)" })
    }

    @Test func systemdUnitsReadEveryVariableFromTheirExampleEnvironment() throws {
        for (unit, env) in [
            ("strata-worker@.service", "worker.env.example"), ("strata-coordinator.service", "coordinator.env.example"),
        ] {
            let text = try Self.read("cluster/systemd/" + unit)
            let defined = Set(
                try Self.read("cluster/systemd/" + env).split(separator: "\n").compactMap { line -> String? in
                    guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { return nil }
                    return String(line[..<eq])
                })
            let used = Self.matches(of: #"\$\{?([A-Z_]+)\}?"#, in: Self.joinContinuations(text))
            #expect(!used.isEmpty)
            for name in used { #expect(defined.contains(name), "\(unit) uses $\(name) but \(env) does not set it") }
            for directive in [
                "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure", "EnvironmentFile=/etc/strata/",
            ] {
                #expect(text.contains(directive), "\(unit) lacks \(directive)")
            }
        }
        #expect(try Self.read("cluster/systemd/strata-worker@.service").contains("ReadWritePaths="))
    }

    // MARK: - The files

    static let scripts = ["scripts/cluster-up", "scripts/cluster-down", "scripts/netns-cluster"]
    static let systemdFiles = [
        "cluster/systemd/strata-worker@.service", "cluster/systemd/strata-coordinator.service",
        "cluster/systemd/worker.env.example", "cluster/systemd/coordinator.env.example",
    ]
    static let manifests = [
        "cluster/k8s/configmap.yaml", "cluster/k8s/secret.yaml.example", "cluster/k8s/models-pvc.yaml",
        "cluster/k8s/workers.yaml", "cluster/k8s/coordinator.yaml",
    ]

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// What `scripts/cluster-up --dry-run` would run for a topology that sets every field.
    func clusterUpDryRunUses() async throws -> [FlagUse] {
        let topology = FileManager.default.temporaryDirectory.appendingPathComponent("strata-dry-run-\(getpid()).json")
        try """
        // every field a topology may set
        { "model": "models/m.gguf", "secret_file": "cluster/secret",
          "workers": [ { "host": "10.0.0.11", "port": 7600, "threads": 8, "numa_node": 1, "layers": "0-15" },
                       { "host": "127.0.0.1", "port": 7601, "threads": 1, "layers": "15-30" } ],
          "spares": [ { "host": "10.0.0.14", "port": 7600, "threads": 8, "numa_node": 0 } ] }
        """.write(to: topology, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: topology) }
        let script = Self.repository.appendingPathComponent("scripts/cluster-up").path
        let run = try await runCommand("/bin/bash", [script, "--dry-run", topology.path])
        try #require(run.status == 0, "cluster-up --dry-run failed: \(run.stderr)")
        #expect(run.stdout.contains("ssh -o BatchMode=yes -o ConnectTimeout=10 10.0.0.14 "), "the spare is started too")
        return Self.invocations(in: run.stdout).map {
            FlagUse(source: "cluster-up --dry-run", subcommand: $0.subcommand, flag: $0.flag)
        }
    }

    /// EXTRA_ARGS in the coordinator's example environment go to `strata serve`.
    func extraServeArgumentUses() throws -> [FlagUse] {
        let env = try Self.read("cluster/systemd/coordinator.env.example")
        let line = env.split(separator: "\n").first { $0.hasPrefix("EXTRA_ARGS=") } ?? ""
        return line.split(separator: " ").filter { $0.hasPrefix("--") }.map {
            FlagUse(source: "cluster/systemd/coordinator.env.example EXTRA_ARGS", subcommand: "serve", flag: String($0))
        }
    }

    // MARK: - Extraction

    /// The long options of a subcommand's help: lines that start with `--x` or `-x, --x`.
    static func longOptions(inHelp help: String) -> Set<String> {
        Set(matches(of: #"(?m)^\s+(?:-[A-Za-z], )?(--[a-z0-9][a-z0-9-]*)"#, in: help))
    }

    /// `strata <subcommand> …` (also `"$b" …`, `"$strata" …` in scripts) and the long options that
    /// follow on the same line or its backslash continuations, up to a redirection or `;`.
    static func invocations(in text: String) -> [(subcommand: String, flag: String)] {
        let pattern = #"(?:strata|\$b|\$strata)"?[ \t]+(worker|serve|generate)\b([^\n]*)"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let joined = joinContinuations(text)
        var found: [(String, String)] = []
        for match in regex.matches(in: joined, range: NSRange(joined.startIndex..., in: joined)) {
            guard let sub = Range(match.range(at: 1), in: joined), let rest = Range(match.range(at: 2), in: joined)
            else { continue }
            let tail =
                joined[rest].split(separator: ">", maxSplits: 1).first.map { $0.split(separator: ";").first ?? "" }
                ?? ""
            for flag in matches(of: #"(?:^|[\s'"(\[,`])(--[a-z][a-z0-9-]*)"#, in: String(tail)) {
                found.append((String(joined[sub]), flag))
            }
        }
        return found
    }

    /// Every block-style `args:` list of a YAML text, items unquoted.
    static func yamlArgsLists(in text: String) -> [[String]] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lists: [[String]] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            i += 1
            guard line.trimmingCharacters(in: .whitespaces) == "args:" else { continue }
            let indent = line.prefix { $0 == " " }.count
            var items: [String] = []
            while i < lines.count {
                let item = lines[i]
                let trimmed = item.trimmingCharacters(in: .whitespaces)
                guard item.prefix(while: { $0 == " " }).count >= indent, trimmed.hasPrefix("- ") else { break }
                items.append(unquote(String(trimmed.dropFirst(2)).trimmingCharacters(in: .whitespaces)))
                i += 1
            }
            lists.append(items)
        }
        return lists
    }

    static func yamlDocuments(_ text: String) -> [[String]] {
        var documents: [[String]] = [[]]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("---") { documents.append([]) } else { documents[documents.count - 1].append(line) }
        }
        return documents.filter {
            $0.contains { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
    }

    /// `key: value` at the document's top level.
    static func topLevelValue(_ key: String, in document: [String]) -> String? {
        document.first { $0.hasPrefix(key + ":") }.map {
            unquote(String($0.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces))
        }
    }

    /// The first `key: value` at any depth (list items included).
    static func firstValue(of key: String, in document: [String]) -> String? {
        for line in document {
            var trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- ") { trimmed = String(trimmed.dropFirst(2)) }
            if trimmed.hasPrefix(key + ":") {
                return unquote(String(trimmed.dropFirst(key.count + 1)).trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }

    static func value(after flag: String, in args: [String]) -> String? {
        guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
        return args[i + 1]
    }

    static func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, f == "\"" || f == "'", s.last == f { return String(s.dropFirst().dropLast()) }
        return s
    }

    static func joinContinuations(_ text: String) -> String {
        text.replacingOccurrences(of: "\\\n", with: " ")
    }

    /// The first capture group of every match.
    static func matches(of pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}

/// What a finished command printed, and how it ended.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
    var seconds: Double
}

/// Runs a program to its end, or until `timeout` seconds pass (then SIGTERM, and SIGKILL 2 s
/// later). Output goes through temporary files, so a chatty child never blocks on a full pipe.
func runCommand(_ executable: String, _ arguments: [String], timeout: Double = 60) async throws -> CommandResult {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = ClusterHarness.repository
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    let start = Date()
    try process.run()
    var timedOut = false
    while process.isRunning {
        let elapsed = Date().timeIntervalSince(start)
        if elapsed > timeout, !timedOut {
            timedOut = true
            process.terminate()
            try await Task.sleep(for: .seconds(2))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        // Foundation notices an exit when a descriptor the child inherited closes; a daemon the
        // child left behind may hold it, so stop waiting a little after the kill.
        if elapsed > timeout + 5 { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    try out.close()
    try err.close()
    return CommandResult(
        status: process.isRunning ? -1 : process.terminationStatus,
        stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self),
        timedOut: timedOut, seconds: Date().timeIntervalSince(start))
}
