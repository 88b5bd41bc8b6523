import ArgumentParser
import Foundation
import StrataApp
import StrataCluster
import StrataKernels
import StrataModel

@main
struct Strata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Serve and run LLaMA-architecture models that can answer from any sorted exit layer.",
        subcommands: [
            Info.self, Tokenize.self, Logits.self, Generate.self, Bench.self, Worker.self, Serve.self, Convert.self,
            Submit.self, Depth.self, Drain.self, LoadTest.self, Soft.self, Eval.self,
        ]
    )

    static func main() async {
        // Before any thread starts: a CPU newer than the OpenBLAS build gets its AVX2/AVX-512
        // kernels instead of the generic fallback (see BLASCore).
        BLASCore.adoptPreferredCore()
        await main(nil)
    }
}

/// Options shared by every command that computes.
struct EngineArguments: ParsableArguments {
    @Option(help: "Compute threads (default: every online core).")
    var threads: Int?

    @Option(name: .customLong("numa-node"), help: "Pin compute threads and memory to this NUMA node.")
    var numaNode: Int?

    var engine: EngineOptions { EngineOptions(threads: threads, numaNode: numaNode) }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let numaNode, numaNode < 0 { throw ValidationError("--numa-node must be ≥ 0") }
    }
}

/// `--kv-cache` on the commands that generate.
struct KVCacheArguments: ParsableArguments {
    @Option(name: .customLong("kv-cache"), help: "How KV caches store keys and values: f32 or f16 (half the memory and traffic).")
    var kvCache: String = "f32"

    func validate() throws {
        if KVCacheType(rawValue: kvCache) == nil { throw ValidationError("--kv-cache takes f32 or f16") }
    }

    /// `engine` with this cache type.
    func apply(to engine: EngineOptions) -> EngineOptions {
        var engine = engine
        engine.kvCache = KVCacheType(rawValue: kvCache) ?? .f32
        return engine
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's architecture, tensor types and sizes, and its recorded exits.")

    @Option(help: "A GGUF file or a Hugging Face folder (default: the installed SmolLM2).")
    var model: String?

    @Flag(help: "Show only what this machine computes with (kernel path, OpenBLAS kernels, cores); no model needed.")
    var machine = false

    func run() throws {
        print(machine ? machineInfo() : try modelInfo(path: try resolveModelPath(model)))
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text as JSON.")

    @Option(help: "A GGUF file or a Hugging Face folder (default: the installed SmolLM2).")
    var model: String?

    @Option(help: "The text; special-token text such as <|im_start|> maps to its token.")
    var text: String

    @Flag(name: .customLong("no-bos"), help: "Do not add BOS/EOS even where the model asks for them.")
    var noBOS = false

    func run() throws {
        print(try tokenizeText(modelPath: try resolveModelPath(model), text: text, addSpecial: !noBOS))
    }
}

struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the top logits at the last position after each exit layer, as JSON.")

    @Option(help: "A GGUF file or a Hugging Face folder (default: the installed SmolLM2).")
    var model: String?

    @Option(name: .customLong("token-ids"), help: "Comma-separated token ids, e.g. 1,2,3.")
    var tokenIDs: String

    @Option(help: "\"all\" or comma-separated exit layers counted from 1 (the last is the full model).")
    var exits = "all"

    @Option(help: "How many top logits to print per exit.")
    var top = 5

    @Flag(help: "Keep activations in f32 (no 8-bit rounding): slower, closest to a float reference.")
    var exact = false

    @OptionGroup var engineArguments: EngineArguments

    func run() throws {
        print(
            try exitLogits(
                modelPath: try resolveModelPath(model), tokenIDs: try parseTokenIDs(tokenIDs),
                exits: try ExitSelection(parsing: exits), top: top, engine: engineArguments.engine, exact: exact))
    }
}

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a continuation, streamed to stdout; speeds go to stderr.")

    @Option(help: "A GGUF file or a Hugging Face folder (default: the installed SmolLM2).")
    var model: String?

    @Option(help: "The prompt text.")
    var prompt: String

    @Flag(help: "Wrap the prompt as a user message in the model's chat template.")
    var chat = false

    @Option(help: "A system message for --chat (default: the template's own, if any).")
    var system: String?

    @Option(help: "Exit layer, counted from 1 (default: the full model).")
    var exit: Int?

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).")
    var topK = 0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off).")
    var topP: Float = 1

    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the top probability (0: off).")
    var minP: Float = 0

    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1: off).")
    var repeatPenalty: Float = 1

    @Option(help: "Random seed for reproducible sampling.")
    var seed: UInt64?

    @Option(name: .customLong("context"), help: "Context limit in tokens (default: the model's).")
    var context: Int?

    @OptionGroup var engineArguments: EngineArguments

    @OptionGroup var kvCacheArguments: KVCacheArguments

    @OptionGroup var clusterArguments: ClusterArguments

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if let exit, exit < 1 { throw ValidationError("--exit counts layers from 1") }
        if let context, context < 2 { throw ValidationError("--context must be at least 2") }
    }

    func run() async throws {
        var config = GenerateConfig(modelPath: try resolveModelPath(model), prompt: prompt)
        config.chat = chat
        config.system = system
        config.engine = kvCacheArguments.apply(to: engineArguments.engine)
        config.contextLimit = context
        config.options = GenerationOptions(
            maxTokens: maxTokens, exit: exit,
            sampling: SamplingOptions(
                temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
                seed: seed))
        FileHandle.standardError.write(Data(("strata: " + config.engine.describe() + "\n").utf8))
        let write: @Sendable (String) -> Void = { piece in FileHandle.standardOutput.write(Data(piece.utf8)) }
        let result: GenerationResult
        if let workers = try clusterArguments.source() {
            result = try await runClusterGenerate(
                config, workers: workers, split: try clusterArguments.parsedSplit(), secretFile: clusterArguments.secretFile,
                workerTrust: clusterArguments.workerCA, recovery: try clusterArguments.recovery(), write: write)
        } else {
            result = try runGenerate(config, write: write)
        }
        print("")
        FileHandle.standardError.write(Data((generationSummary(result) + "\n").utf8))
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prefill and decode tokens/s per exit (median, min, max over runs).")

    @Option(help: "A GGUF file or a Hugging Face folder (default: the installed SmolLM2).")
    var model: String?

    @Option(help: "Comma-separated exit layers (default: the full model).")
    var exits: String?

    @Option(name: .customLong("prompt-tokens"), help: "Prompt length processed before decoding.")
    var promptTokens = 512

    @Option(name: .customLong("gen-tokens"), help: "Tokens decoded per run.")
    var genTokens = 128

    @Option(help: "Runs per exit; exits are interleaved within each run.")
    var runs = 5

    @Flag(help: "Print the report as JSON instead of a table.")
    var json = false

    @Option(help: "With workers: comma-separated numbers of concurrent sequences, e.g. 1,4,16.")
    var concurrency = "1,4,16"

    @Flag(help: "Time one block's products on both matrix paths at batch sizes 1…512 (the path crossover).")
    var crossover = false

    @OptionGroup var engineArguments: EngineArguments

    @OptionGroup var kvCacheArguments: KVCacheArguments

    @OptionGroup var clusterArguments: ClusterArguments

    func run() async throws {
        if crossover {
            let rows = try measureCrossover(modelPath: try resolveModelPath(model), engine: kvCacheArguments.apply(to: engineArguments.engine))
            print(json ? try prettyJSON(rows) : crossoverTable(rows))
            return
        }
        if let workers = try clusterArguments.source() {
            let levels = concurrency.split(separator: ",").compactMap { Int($0) }
            guard !levels.isEmpty, levels.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--concurrency takes numbers ≥ 1") }
            let session = try await startCluster(
                modelPath: try resolveModelPath(model), workers: workers, split: try clusterArguments.parsedSplit(),
                secretFile: clusterArguments.secretFile, engine: kvCacheArguments.apply(to: engineArguments.engine), workerTrust: clusterArguments.workerCA,
                recovery: try clusterArguments.recovery())
            do {
                let report = try await runClusterBench(
                    session: session, concurrency: levels, promptTokens: promptTokens, generatedTokens: genTokens, runs: runs
                ) { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
                await session.shutdown()
                print(json ? try prettyJSON(report) : clusterBenchTable(report))
            } catch {
                await session.shutdown()
                throw error
            }
            return
        }
        var config = BenchConfig(modelPath: try resolveModelPath(model))
        if let exits {
            guard case .layers(let layers) = try ExitSelection(parsing: exits) else {
                throw ValidationError("--exits takes layer numbers")
            }
            config.exits = layers
        }
        config.promptTokens = promptTokens
        config.generatedTokens = genTokens
        config.runs = runs
        config.engine = kvCacheArguments.apply(to: engineArguments.engine)
        FileHandle.standardError.write(Data(("strata: " + config.engine.describe() + "\n").utf8))
        let report = try runBench(config) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print(json ? try prettyJSON(report) : benchTable(report))
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite a model as a GGUF file of another type that Strata and llama.cpp both read.")

    @Option(help: "A GGUF file or a Hugging Face folder (default: the installed SmolLM2).")
    var model: String?

    @Option(help: "Matrix type: f32, f16, bf16, q8_0, q4_0 or q4_1.")
    var type: String

    @Option(help: "The GGUF file to write (replaced only when the conversion succeeds).")
    var out: String

    @Option(help: "Threads that quantise rows (default: every online core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let config = ConvertConfig(
            modelPath: try resolveModelPath(model), outputPath: out, target: try ConvertTarget(parsing: type),
            threads: threads)
        let report = try convertModel(config) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print(report.summary)
    }
}

/// Where a command finds its workers: running ones, new local ones, or a topology file.
struct ClusterArguments: ParsableArguments {
    @Option(help: "Comma-separated worker addresses host:port, in chain order.")
    var workers: String?

    @Option(name: .customLong("local-workers"), help: "Start this many worker processes on loopback.")
    var localWorkers: Int?

    @Option(help: "A cluster topology file (see cluster/).")
    var cluster: String?

    @Option(help: "Blocks per worker, e.g. 0-10,10-20,20-30 (default: planned from the workers' threads).")
    var split: String?

    @Option(name: .customLong("secret-file"), help: "A file holding the secret the workers require.")
    var secretFile: String?

    @Option(name: .customLong("worker-ca"), help: "Reach the workers over TLS, trusting the certificates in this PEM file.")
    var workerCA: String?

    @Option(name: .customLong("heartbeat-timeout"), help: "Seconds a worker may stay silent before it counts as lost (default 5).")
    var heartbeatTimeout: Double?

    @Option(name: .customLong("step-timeout"), help: "Seconds a step may take before its exit stage counts as lost (default 20).")
    var stepTimeout: Double?

    @Option(name: .customLong("spare-workers"), help: "Comma-separated idle workers host:port that may take over a lost worker's blocks.")
    var spareWorkers: String?

    func validate() throws {
        let given = [workers != nil, localWorkers != nil, cluster != nil].filter { $0 }.count
        if given > 1 { throw ValidationError("use one of --workers, --local-workers and --cluster") }
        if let localWorkers, localWorkers < 1 { throw ValidationError("--local-workers must be at least 1") }
    }

    func source() throws -> WorkerSource? {
        if let workers {
            return .addresses(try workers.split(separator: ",").map { try PeerAddress(parsing: String($0)) })
        }
        if let localWorkers { return .local(localWorkers) }
        if let cluster { return .topology(try ClusterTopology.load(path: cluster)) }
        return nil
    }

    func parsedSplit() throws -> [Range<Int>]? {
        try split.map { try parseSplit($0) }
    }

    func recovery() throws -> Recovery {
        func duration(_ seconds: Double?, _ flag: String) throws -> Duration? {
            guard let seconds else { return nil }
            guard seconds.isFinite, seconds > 0, seconds <= 86_400 else { throw ValidationError("\(flag) takes seconds in (0, 86400]") }
            return .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
        return Recovery(
            heartbeatTimeout: try duration(heartbeatTimeout, "--heartbeat-timeout"), stepTimeout: try duration(stepTimeout, "--step-timeout"),
            spares: try (spareWorkers ?? "").split(separator: ",").map { try PeerAddress(parsing: String($0)) })
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a worker: hold the layers a coordinator assigns and compute them.")

    @Option(help: "Address to listen on, host:port (port 0 picks a free one).")
    var listen: String

    @Option(help: "This worker's copy of the model (default: the installed SmolLM2 if present; without one the coordinator streams its model).")
    var model: String?

    @Option(name: .customLong("secret-file"), help: "Accept only coordinators that prove the secret in this file.")
    var secretFile: String?

    @Option(help: "A name for logs (default: host:port).")
    var name: String?

    @Option(name: .customLong("cache-dir"), help: "Where models streamed from a coordinator are kept (default: a temporary folder).")
    var cacheDir: String?

    @Flag(name: .customLong("exit-with-parent"), help: "Exit when the launching process ends (used for local workers).")
    var exitWithParent = false

    @Option(name: .customLong("tls-cert"), help: "Accept TLS connections with this PEM certificate chain (with --tls-key).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("tls-ca"), help: "Trust these certificates when dialling the next stage (default: --tls-cert).")
    var tlsCA: String?

    @OptionGroup var engineArguments: EngineArguments

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if tlsCA != nil && tlsCert == nil { throw ValidationError("--tls-ca needs --tls-cert and --tls-key") }
    }

    func run() async throws {
        let tls = tlsCert.flatMap { cert in tlsKey.map { WorkerTLSFiles(certificate: cert, key: $0, trust: tlsCA) } }
        try await runWorker(
            listen: listen, modelPath: try? resolveModelPath(model), engine: engineArguments.engine, secretFile: secretFile,
            name: name, cacheDirectory: cacheDir, exitWithParent: exitWithParent, tls: tls
        ) { address in
            // The first stdout line: launchers wait for it.
            FileHandle.standardOutput.write(Data("listening on \(address)\n".utf8))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the coordinator and its workers behind an OpenAI-style HTTP API.")

    @Option(help: "The coordinator's model (default: the installed SmolLM2).")
    var model: String?

    @Option(help: "HTTP address to listen on, host:port.")
    var http = "127.0.0.1:8080"

    @Option(name: .customLong("depth-policy"), help: "fixed (every request at --depth) or adaptive (the deepest exit that keeps --latency-objective-ms).")
    var depthPolicy = "fixed"

    @Option(help: "The fixed policy's exit (default: the full model).")
    var depth: Int?

    @Option(name: .customLong("latency-objective-ms"), help: "The adaptive policy's objective for a whole request's latency.")
    var latencyObjectiveMs = 10_000.0

    @Option(help: "Sorted exits the policy moves among, e.g. 9,15,21,30 (default: the model's own, else 0.3…1.0 of the depth).")
    var exits: String?

    @Option(name: .customLong("max-running"), help: "Requests generating at once (they share micro-batches).")
    var maxRunning = 8

    @Option(name: .customLong("max-queue"), help: "Requests waiting for a place; beyond this the server answers 429.")
    var maxQueue = 64

    @Option(name: .customLong("prefill-chunk"), help: "Prompt tokens per step, so long prompts do not stall running decodes.")
    var prefillChunk = 64

    @Option(name: .customLong("max-prompt-tokens"), help: "Longest prompt accepted (default: half the context).")
    var maxPromptTokens: Int?

    @Option(name: .customLong("max-tokens-limit"), help: "Largest max_tokens accepted.")
    var maxTokensLimit = 4096

    @Option(name: .customLong("api-key-file"), help: "Require one of these keys (one per line) as 'Authorization: Bearer KEY' on /v1 and /admin.")
    var apiKeyFile: String?

    @Option(name: .customLong("max-streams-per-client"), help: "Requests one API key may have in flight at once.")
    var maxStreamsPerClient: Int?

    @Option(name: .customLong("tls-cert"), help: "Serve https with this PEM certificate chain (with --tls-key).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @OptionGroup var clusterArguments: ClusterArguments

    @OptionGroup var engineArguments: EngineArguments

    @OptionGroup var kvCacheArguments: KVCacheArguments

    func run() async throws {
        // Without a worker source, serve starts two local workers: the embedded default.
        let workers = try clusterArguments.source() ?? .local(2)
        var settings = ServeSettings(http: try PeerAddress(parsing: http))
        settings.policy = depthPolicy
        settings.depth = depth
        settings.objectiveMs = latencyObjectiveMs
        if let exits {
            guard case .layers(let layers) = try ExitSelection(parsing: exits) else { throw ValidationError("--exits takes layer numbers") }
            settings.exits = layers
        }
        settings.maxRunning = maxRunning
        settings.maxQueue = maxQueue
        settings.prefillChunk = prefillChunk
        settings.maxPromptTokens = maxPromptTokens
        settings.maxTokens = maxTokensLimit
        settings.apiKeyFile = apiKeyFile
        settings.maxStreamsPerClient = maxStreamsPerClient
        settings.tlsCertificate = tlsCert
        settings.tlsKey = tlsKey
        try await runServe(
            modelPath: try resolveModelPath(model), workers: workers, split: try clusterArguments.parsedSplit(),
            secretFile: clusterArguments.secretFile, engine: kvCacheArguments.apply(to: engineArguments.engine), settings: settings,
            workerTrust: clusterArguments.workerCA, recovery: try clusterArguments.recovery()
        ) { url in
            FileHandle.standardError.write(Data("strata: serving on \(url)\n".utf8))
        }
    }
}

/// How the client commands reach a server.
struct ClientArguments: ParsableArguments {
    @Option(help: "The server, e.g. http://127.0.0.1:8080 or https://host:8443.")
    var url = "http://127.0.0.1:8080"

    @Option(name: .customLong("api-key-file"), help: "Send the key in this file as 'Authorization: Bearer KEY' (default: $STRATA_API_KEY).")
    var apiKeyFile: String?

    @Option(name: .customLong("ca-file"), help: "Trust the certificates in this PEM file for https.")
    var caFile: String?

    func options() throws -> ClientOptions {
        var options = ClientOptions()
        if let apiKeyFile { try options.readKey(path: apiKeyFile) }
        options.caFile = caFile
        return options
    }
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send one generation job to a running server and print the answer.")

    @OptionGroup var client: ClientArguments

    @Option(help: "The prompt.")
    var prompt: String

    @Flag(help: "Send it as a chat message (the server applies the model's chat template).")
    var chat = false

    @Option(help: "A system message (with --chat).")
    var system: String?

    @Option(help: "Answer from this exit.")
    var depth: Int?

    @Option(name: .customLong("min-depth"), help: "The shallowest exit acceptable.")
    var minDepth: Int?

    @Option(name: .customLong("max-latency-ms"), help: "Ask for the deepest exit predicted to answer within this time.")
    var maxLatencyMs: Double?

    @Option(name: .customLong("max-tokens"), help: "Tokens to generate at most.")
    var maxTokens = 256

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0

    @Option(help: "Sampling seed.")
    var seed: UInt64?

    @Flag(help: "Print the answer as it is generated.")
    var stream = false

    func run() async throws {
        var request = SubmitRequest(prompt: prompt)
        request.chat = chat
        request.system = system
        request.depth = depth
        request.minDepth = minDepth
        request.maxLatencyMs = maxLatencyMs
        request.maxTokens = maxTokens
        request.temperature = temperature
        request.seed = seed
        request.stream = stream
        let outcome = try await runSubmit(url: client.url, request, options: try client.options()) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        print("")
        let depthText = outcome.depth.map { "depth \($0)" } ?? "depth unknown"
        let tokens = outcome.completionTokens.map { "\($0) tokens" } ?? ""
        FileHandle.standardError.write(Data(String(
            format: "strata: %@, %@, %@, %.2f s\n", depthText, tokens, outcome.finishReason ?? "-", outcome.seconds).utf8))
    }
}

struct Depth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or set a running server's depth policy.",
        discussion: """
            strata depth --url URL status        the policy, current depth, queue and predictions
            strata depth --url URL set 21        cap every request at exit 21 (drain load by lowering depth)
            strata depth --url URL set auto      the adaptive policy decides
            strata depth --url URL set full      every request at full depth
            """)

    @OptionGroup var client: ClientArguments

    @Flag(help: "Print the status as JSON.")
    var json = false

    @Argument(help: "status, or set followed by an exit number, auto or full.")
    var words: [String] = ["status"]

    func validate() throws {
        switch words.first {
        case "status": if words.count != 1 { throw ValidationError("status takes no value") }
        case "set": if words.count != 2 { throw ValidationError("set takes one value: an exit number, auto or full") }
        default: throw ValidationError("expected status or set K|auto|full")
        }
    }

    func run() async throws {
        let status = try await runDepth(url: client.url, set: words.first == "set" ? words[1] : nil, options: try client.options())
        print(json ? try prettyJSON(status) : describe(status))
    }
}

struct Drain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a server admitting new requests, wait for the admitted ones to finish, and report.")

    @OptionGroup var client: ClientArguments

    @Flag(help: "Admit requests again after a drain.")
    var resume = false

    func run() async throws {
        print(try await runDrain(url: client.url, resume: resume, options: try client.options()))
    }
}

struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Open-loop Poisson load against a running server: throughput, latency percentiles, depth mix, plot.")

    @OptionGroup var client: ClientArguments

    @Option(help: "Mean arrivals per second.")
    var rate: Double

    @Option(help: "Seconds to send for.")
    var duration: Double

    @Option(help: "Prompts: JSON lines (prompt / instruction / question) or one per line (default: a built-in set).")
    var prompts: String?

    @Option(name: .customLong("max-tokens"), help: "Tokens per answer.")
    var maxTokens = 32

    @Option(name: .customLong("max-requests"), help: "Send at most this many (default: twice the expected count).")
    var maxRequests: Int?

    @Flag(help: "Plain completions instead of chat.")
    var completions = false

    @Option(help: "Seed of the arrival times.")
    var seed: UInt64 = 1

    @Option(help: "Ask for this exit in every request.")
    var depth: Int?

    @Option(name: .customLong("max-latency-ms"), help: "Send max_latency_ms with every request.")
    var maxLatencyMs: Double?

    @Option(help: "Write the full report (with every request) as JSON here.")
    var json: String?

    @Option(help: "Write a PNG plot over time here (offered load, depth, p50/p99 latency).")
    var plot: String?

    func run() async throws {
        var config = LoadTestConfig(url: client.url, rate: rate, duration: duration)
        config.client = try client.options()
        if let prompts { config.prompts = try LoadTestConfig.loadPrompts(path: prompts) }
        config.chat = !completions
        config.maxTokens = maxTokens
        config.maxRequests = maxRequests
        config.seed = seed
        config.depth = depth
        config.maxLatencyMs = maxLatencyMs
        let report = try await runLoadTest(config) { line in
            FileHandle.standardError.write(Data("\r\(line)".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print(describe(report))
        if let json {
            try Data(try prettyJSON(report).utf8).write(to: URL(fileURLWithPath: json))
            print("report: \(json)")
        }
        if let plot {
            try writeLoadTestPlot(report, to: plot)
            print("plot: \(plot)")
        }
    }
}

struct Soft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sorted Fine-Tuning: train every chosen exit through the shared norm and head (or --method sft, the last only).",
        discussion: """
            Checkpoints go to --checkpoint (default OUT.ckpt) every --checkpoint-every steps and on
            Ctrl-C or SIGTERM; run the same command with --resume to continue exactly where it stopped.
            """)

    @Option(help: "The base model, a GGUF file (default: the installed SmolLM2).")
    var model: String?

    @Option(help: "Training data: JSON lines with instruction, input, output.")
    var data: String

    @Option(help: "The exits B, e.g. 9,12,15,18,21,24,27,30 (default: 0.3…1.0 of the depth).")
    var exits: String?

    @Option(help: "soft (every exit of B) or sft (the last layer only: the baseline).")
    var method = "soft"

    @Option(
        name: .customLong("exit-weights"),
        help: "Relative loss weight of each exit of B, e.g. 1,1,1,1,1,1,1,133 (normalised; default: equal, as published).")
    var exitWeights: String?

    @Option(help: "Optimizer steps (default: from --epochs).")
    var steps: Int?

    @Option(help: "Passes over the data (default 1) when --steps is not given.")
    var epochs: Double?

    @Option(help: "Peak learning rate (cosine decay to a tenth of it).")
    var lr = 1e-4

    @Option(name: .customLong("warmup"), help: "Warm-up steps (default: 5% of the steps, at most 100).")
    var warmup: Int?

    @Option(name: .customLong("weight-decay"), help: "AdamW's decoupled weight decay (not on norms).")
    var weightDecay = 0.0

    @Option(help: "Clip the global gradient norm to this.")
    var clip = 1.0

    @Option(name: .customLong("seq-len"), help: "Longest example in tokens (longer ones are cut).")
    var seqLen = 256

    @Option(name: .customLong("batch-tokens"), help: "Tokens per micro-batch (examples are packed).")
    var batchTokens = 512

    @Option(help: "Micro-batches per optimizer step.")
    var accumulate = 8

    @Option(help: "Data-order seed.")
    var seed: UInt64 = 0

    @Option(help: "Use only the first N examples of the file.")
    var limit: Int?

    @Option(help: "Checkpoint file (default: OUT.ckpt).")
    var checkpoint: String?

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = 10

    @Flag(help: "Continue from the checkpoint.")
    var resume = false

    @Option(name: .customLong("type"), help: "The output's tensor type: q8_0 or f32.")
    var type = "q8_0"

    @Option(help: "Append every step's losses here as JSON lines.")
    var log: String?

    @Option(help: "Write a PNG of the per-exit losses (needs --log).")
    var plot: String?

    @Option(help: "The sorted model to write.")
    var out: String

    @OptionGroup var engineArguments: EngineArguments

    func run() async throws {
        var config = SoftConfig(modelPath: try resolveModelPath(model), dataPath: data, outPath: out, threads: engineArguments.engine.threadCount)
        config.method = method
        if let exits {
            guard case .layers(let layers) = try ExitSelection(parsing: exits) else { throw ValidationError("--exits takes layer numbers") }
            config.exits = layers.sorted()
        }
        if let exitWeights {
            config.exitWeights = try exitWeights.split(separator: ",", omittingEmptySubsequences: false).map { item in
                let text = item.trimmingCharacters(in: .whitespaces)
                guard let value = Double(text) else { throw ValidationError("--exit-weights: '\(text)' is not a number") }
                return value
            }
        }
        config.exportType = type
        config.steps = steps
        config.epochs = epochs
        config.learningRate = lr
        config.warmupSteps = warmup
        config.weightDecay = weightDecay
        config.clip = clip
        config.sequenceLength = seqLen
        config.batchTokens = batchTokens
        config.accumulate = accumulate
        config.seed = seed
        config.limit = limit
        config.checkpointPath = checkpoint
        config.checkpointEvery = checkpointEvery
        config.resume = resume
        config.logPath = log
        config.plotPath = plot
        let outcome = try await runSoft(config) { line in FileHandle.standardError.write(Data((line.hasPrefix("\r") ? line : line + "\n").utf8)) }
        let losses = outcome.lastLosses.sorted { $0.key < $1.key }.map { String(format: "%d:%.3f", $0.key, $0.value) }.joined(separator: " ")
        print(String(format: "%d/%d steps, %.0f tokens/s (median step), last losses %@", outcome.steps, outcome.totalSteps, outcome.tokensPerSecond, losses))
        if let exported = outcome.exported { print("model: \(exported)") }
        print("checkpoint: \(outcome.checkpoint)")
    }

    func validate() throws {
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if seqLen < 8 || batchTokens < seqLen { throw ValidationError("--seq-len must be at least 8 and at most --batch-tokens") }
        if accumulate < 1 || checkpointEvery < 1 { throw ValidationError("--accumulate and --checkpoint-every must be at least 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if plot != nil && log == nil { throw ValidationError("--plot needs --log") }
        if !["soft", "sft"].contains(method) { throw ValidationError("--method must be soft or sft") }
        if !["q8_0", "f32"].contains(type) { throw ValidationError("--type must be q8_0 or f32") }
    }
}

struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per exit: perplexity of reference answers, agreement and KL with the last exit, QA exact match.")

    @Option(help: "A model to evaluate; repeat to compare several.")
    var model: [String] = []

    @Option(help: "A name for each --model in the table and plot, in the same order.")
    var label: [String] = []

    @Option(help: "Held-out instructions with reference answers (JSON lines).")
    var data: String?

    @Option(help: "Questions with answer aliases (JSON lines: question, answers).")
    var qa: String?

    @Option(help: "Exits to evaluate (default: the model's recorded exits, else 0.3…1.0 of the depth).")
    var exits: String?

    @Option(help: "Instructions to use from --data.")
    var limit = 200

    @Option(name: .customLong("qa-limit"), help: "Questions to use from --qa.")
    var qaLimit = 200

    @Option(name: .customLong("seq-len"), help: "Longest example in tokens.")
    var seqLen = 512

    @Flag(help: "f32 activations against dequantised weights (slower; no activation quantisation).")
    var exact = false

    @Option(help: "Write the figures as JSON here.")
    var json: String?

    @Option(help: "Write a PNG of each metric against exit depth here.")
    var plot: String?

    @Option(help: "A report written earlier with --json whose models join this run's table and plot (repeatable).")
    var include: [String] = []

    @OptionGroup var engineArguments: EngineArguments

    func run() async throws {
        let earlier = try include.map { try EvalReport.read(path: $0) }
        if let other = earlier.first(where: { $0.exact != exact }) {
            throw ValidationError("an included report was measured \(other.exact ? "with" : "without") --exact; measure this run the same way")
        }
        var config = EvalConfig(models: try (model.isEmpty ? [nil] : model.map { Optional($0) }).map(resolveModelPath), engine: engineArguments.engine)
        config.labels = label.isEmpty ? nil : label
        config.dataPath = data
        config.qaPath = qa
        if let exits {
            guard case .layers(let layers) = try ExitSelection(parsing: exits) else { throw ValidationError("--exits takes layer numbers") }
            config.exits = layers
        }
        config.limit = limit
        config.qaLimit = qaLimit
        config.sequenceLength = seqLen
        config.exact = exact
        let report = try mergeEvalReports(
            earlier, try await runEval(config) { line in FileHandle.standardError.write(Data("\r\(line)   ".utf8)) })
        FileHandle.standardError.write(Data("\n".utf8))
        print(evalTable(report))
        if let json {
            try Data(try prettyJSON(report).utf8).write(to: URL(fileURLWithPath: json))
            print("report: \(json)")
        }
        if let plot {
            try writeEvalPlot(report, to: plot)
            print("plot: \(plot)")
        }
    }
}
