import Foundation
import StrataApp
import StrataCluster
import StrataKernels
import StrataModel
import StrataTestSupport
import StrataWire
import Synchronization
import Testing

/// Coordinator and workers over real TCP on loopback give the single-process engine's tokens.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ClusterIntegrationTests {
    static let prompt = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11, 2683, 359, 216]

    @Test(arguments: [[0..<30], [0..<15, 15..<30], [0..<4, 4..<20, 20..<30]])
    func inProcessWorkersMatchTheSingleProcessEngine(split: [Range<Int>]) async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(split.count, model: model)
        let session = try await startCluster(
            modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: split, secretFile: nil,
            engine: EngineOptions(threads: 1))
        for exit in [30, 9, 15, 25] {
            var options = GenerationOptions(maxTokens: 12, exit: exit)
            options.stopAtEndOfGeneration = false
            let distributed = try await session.generator.generate(prompt: Self.prompt, options: options)
            let single = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 12, exit: exit)
            #expect(distributed.tokens == single, "split \(split) exit \(exit)")
        }
        await session.shutdown()
        for s in servers { await s.stop() }
    }

    @Test func workersKeepAHalfCacheWhenTheCoordinatorAsks() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        let session = try await startCluster(
            modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1, kvCache: .f16))
        for exit in [30, 9] {
            var options = GenerationOptions(maxTokens: 12, exit: exit)
            options.stopAtEndOfGeneration = false
            let distributed = try await session.generator.generate(prompt: Self.prompt, options: options)
            let single = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 12, exit: exit, kvCache: .f16)
            #expect(distributed.tokens == single, "exit \(exit)")
        }
        await session.shutdown()
        for s in servers { await s.stop() }
    }

    @Test func promptsInChunksGiveTheSameTokens() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        // 12 prompt tokens in steps of 5, 5 and 2.
        let session = try await startCluster(
            modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1), prefillChunk: 5)
        for exit in [30, 9] {
            var options = GenerationOptions(maxTokens: 10, exit: exit)
            options.stopAtEndOfGeneration = false
            let distributed = try await session.generator.generate(prompt: Self.prompt, options: options)
            let single = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 10, exit: exit)
            #expect(distributed.tokens == single, "exit \(exit)")
        }
        await session.shutdown()
        for s in servers { await s.stop() }
    }

    @Test func losingTheLastStageServesShallowerAndItsReturnRestoresFullDepth() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        let session = try await startCluster(
            modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1))
        let cluster = session.generator.cluster
        var options = GenerationOptions(maxTokens: 24, exit: 30)
        options.stopAtEndOfGeneration = false
        let undisturbed = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 24, exit: 30)
        let last = servers[1]
        let address = last.boundAddress
        let tokens = Atomic<Int>(0)
        let events = Mutex<[Int]>([])
        // The worker holding blocks 15-30 goes away after the sixth token.
        let result = try await session.generator.generate(
            prompt: Self.prompt, options: options,
            onProgress: { event in
                switch event {
                case .token:
                    if tokens.add(1, ordering: .relaxed).newValue == 6 { Task { await last.stop() } }
                case .depth(let k):
                    events.withLock { $0.append(k) }
                case .prefilled:
                    break
                }
            })
        #expect(result.tokens.count == 24, "the request completes")
        #expect(result.exit == 15 && result.depths.last == 15, "\(result.depths)")
        #expect(events.withLock { $0 } == [15])
        // Everything before the loss was full depth and equals the undisturbed run.
        let full = result.depths.prefix { $0 == 30 }.count
        #expect(full >= 6 && Array(result.tokens.prefix(full)) == Array(undisturbed.prefix(full)))
        #expect(cluster.reachableDepth == 15 && cluster.lostWorkers == [address.description])

        // A worker comes back at the same address: it is given blocks 15-30 again.
        let replacement = try await WorkerServer.start(
            WorkerOptions(listen: address, modelPath: model, threads: 1, name: "replacement"))
        for _ in 0..<200 where cluster.reachableDepth < 30 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(cluster.reachableDepth == 30 && cluster.lostWorkers.isEmpty)
        let again = try await session.generator.generate(prompt: Self.prompt, options: options)
        #expect(again.tokens == undisturbed && again.exit == 30)
        await session.shutdown()
        await servers[0].stop()
        await replacement.stop()
    }

    @Test func aSpareAtAnotherAddressTakesOverALostStage() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(3, model: model)
        let spare = servers[2].boundAddress
        let session = try await startCluster(
            modelPath: model, workers: .addresses([servers[0].boundAddress, servers[1].boundAddress]), split: [0..<15, 15..<30],
            secretFile: nil, engine: EngineOptions(threads: 1), recovery: Recovery(spares: [spare]))
        let cluster = session.generator.cluster
        #expect(cluster.spareWorkers == [spare.description])
        var options = GenerationOptions(maxTokens: 16, exit: 30)
        options.stopAtEndOfGeneration = false
        let undisturbed = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 16, exit: 30)
        let lost = servers[1].boundAddress
        let tokens = Atomic<Int>(0)
        let result = try await session.generator.generate(
            prompt: Self.prompt, options: options,
            onProgress: { event in
                if case .token = event, tokens.add(1, ordering: .relaxed).newValue == 4 { Task { await servers[1].stop() } }
            })
        #expect(result.tokens.count == 16, "the request completes")
        // The spare is given blocks 15-30 and the first stage is re-linked to it; the lost
        // address becomes the spare, for a worker that returns there.
        for _ in 0..<200 where cluster.reachableDepth < 30 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(cluster.reachableDepth == 30 && cluster.lostWorkers.isEmpty)
        #expect(cluster.load().map(\.worker) == [servers[0].boundAddress.description, spare.description])
        #expect(cluster.spareWorkers == [lost.description])
        let again = try await session.generator.generate(prompt: Self.prompt, options: options)
        #expect(again.tokens == undisturbed && again.exit == 30)
        await session.shutdown()
        await servers[0].stop()
        await servers[2].stop()
    }

    @Test func aStepThatNeverReturnsClosesItsExitStageAndTheRequestFinishesShallower() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        // The second worker is reached (by the coordinator and by the first stage) through a
        // relay that can stop carrying data without closing; heartbeats are given 60 s, so only
        // the step deadline can notice.
        let relay = try await FreezingRelay.start(to: servers[1].boundAddress)
        let session = try await startCluster(
            modelPath: model, workers: .addresses([servers[0].boundAddress, relay.address]), split: [0..<15, 15..<30],
            secretFile: nil, engine: EngineOptions(threads: 1),
            recovery: Recovery(heartbeatTimeout: .seconds(60), stepTimeout: .seconds(3)))
        let cluster = session.generator.cluster
        var options = GenerationOptions(maxTokens: 24, exit: 30)
        options.stopAtEndOfGeneration = false
        let undisturbed = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 24, exit: 30)
        let tokens = Atomic<Int>(0)
        let started = ContinuousClock.now
        let result = try await session.generator.generate(
            prompt: Self.prompt, options: options,
            onProgress: { event in
                if case .token = event, tokens.add(1, ordering: .relaxed).newValue == 6 { relay.freeze() }
            })
        #expect(result.tokens.count == 24, "the request completes")
        #expect(result.depths.contains { $0 < 30 }, "the stalled step was served shallower: \(result.depths)")
        #expect(ContinuousClock.now - started < .seconds(30), "no wait anywhere near the heartbeat timeout")
        #expect(cluster.stepTimeoutCount >= 1)
        let full = result.depths.prefix { $0 == 30 }.count
        #expect(full >= 6 && Array(result.tokens.prefix(full)) == Array(undisturbed.prefix(full)))

        // New connections through the relay carry data: the stage is re-added and re-linked.
        for _ in 0..<200 where cluster.reachableDepth < 30 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(cluster.reachableDepth == 30 && cluster.lostWorkers.isEmpty)
        let again = try await session.generator.generate(prompt: Self.prompt, options: options)
        #expect(again.tokens == undisturbed && again.exit == 30)
        await session.shutdown()
        await relay.stop()
        for s in servers { await s.stop() }
    }

    @Test func aStageThatReturnsMidGenerationIsRebuiltAndEveryTokenStaysExact() async throws {
        guard let path = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: path)
        let session = try await startCluster(
            modelPath: path, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1))
        var options = GenerationOptions(maxTokens: 300, exit: 30)
        options.stopAtEndOfGeneration = false
        let last = servers[1]
        let address = last.boundAddress
        let tokens = Atomic<Int>(0)
        let recoveredAt = Atomic<Int>(0)
        let replacement = WorkerHolder()
        // Lost after the 4th token, back after the 10th: the chain rebuilds the sequence's caches.
        // Generation stops a few tokens after full depth is back.
        let result = try await session.generator.generate(
            prompt: Self.prompt, options: options,
            onProgress: { event in
                switch event {
                case .token:
                    switch tokens.add(1, ordering: .relaxed).newValue {
                    case 4: Task { await last.stop() }
                    case 10:
                        Task {
                            let server = try await WorkerServer.start(WorkerOptions(listen: address, modelPath: path, threads: 1, name: "back"))
                            replacement.server.withLock { $0 = server }
                        }
                    default: break
                    }
                case .depth(let k):
                    if k == 30 { recoveredAt.store(tokens.load(ordering: .relaxed), ordering: .relaxed) }
                case .prefilled:
                    break
                }
            },
            onText: { _ in
                let back = recoveredAt.load(ordering: .relaxed)
                return back == 0 || tokens.load(ordering: .relaxed) < back + 6
            })
        #expect(result.depths.contains(15) && result.depths.last == 30, "\(result.depths)")
        // Every token is the argmax of a cache-free recomputation at the depth it was served at.
        let loaded = try LoadedModel.load(path: path)
        let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 1))
        var context = Self.prompt
        for (step, token) in result.tokens.enumerated() {
            let depth = result.depths[step]
            let cache = KVCache(layers: 0..<30, kvDimension: loaded.config.kvDimension, limit: 512)
            let logits = try #require(
                try model.forward(tokens: context, cache: cache, exits: [depth], workspace: Workspace(config: loaded.config))[depth])
            let argmax = logits.withUnsafeBufferPointer { Sampler.argmax($0) }
            // Near-ties may flip between the chain's step-by-step path and one batched pass over
            // the whole context (different attention kernels, re-quantised activations); a clear
            // margin may not, and a wrongly rebuilt cache would not stay near the top.
            if argmax != token {
                let sorted = logits.sorted(by: >)
                #expect(sorted[0] - sorted[1] < 0.5, "step \(step) at depth \(depth): \(token) instead of \(argmax)")
            }
            context.append(token)
        }
        await session.shutdown()
        await servers[0].stop()
        await replacement.server.withLock { $0 }?.stop()
    }

    @Test func aRestartedCoordinatorReusesTheRunningWorkers() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: model)
        var options = GenerationOptions(maxTokens: 8, exit: 30)
        options.stopAtEndOfGeneration = false
        var answers: [[Int]] = []
        // The coordinator goes away and a new one comes; the workers keep running throughout.
        for _ in 0..<2 {
            let session = try await startCluster(
                modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: [0..<15, 15..<30], secretFile: nil,
                engine: EngineOptions(threads: 1))
            answers.append(try await session.generator.generate(prompt: Self.prompt, options: options).tokens)
            await session.shutdown()
        }
        #expect(answers[0].count == 8 && answers[0] == answers[1])
        for s in servers { await s.stop() }
    }

    @Test func workersOverTLSAnswerAsOverTCPAndRefuseAPlainCoordinator() async throws {
        guard let model = ModelFixture.path(), let (cert, key, folder) = try ClusterHarness.selfSignedCertificate() else { return }
        defer { try? FileManager.default.removeItem(at: folder) }
        var servers: [WorkerServer] = []
        for i in 0..<2 {
            var options = WorkerOptions(listen: PeerAddress(host: "127.0.0.1", port: 0), modelPath: model, threads: 1, name: "tls-\(i)")
            options.tlsServer = try LinkTLS.server(certificate: cert, key: key)
            options.tlsClient = try LinkTLS.client(trust: cert)
            servers.append(try await WorkerServer.start(options))
        }
        let addresses = servers.map(\.boundAddress)
        let session = try await startCluster(
            modelPath: model, workers: .addresses(addresses), split: [0..<15, 15..<30], secretFile: nil,
            engine: EngineOptions(threads: 1), workerTrust: cert)
        var options = GenerationOptions(maxTokens: 8, exit: 30)
        options.stopAtEndOfGeneration = false
        let tokens = try await session.generator.generate(prompt: Self.prompt, options: options).tokens
        #expect(tokens == (try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 8, exit: 30)))
        await session.shutdown()
        // A coordinator speaking plain TCP to a TLS worker is refused, quickly.
        let started = ContinuousClock.now
        await #expect(throws: ClusterError.self) {
            _ = try await startCluster(
                modelPath: model, workers: .addresses(addresses), split: [0..<15, 15..<30], secretFile: nil,
                engine: EngineOptions(threads: 1))
        }
        #expect(ContinuousClock.now - started < .seconds(15))
        for s in servers { await s.stop() }
    }

    @Test func depthScheduleAcrossStagesEqualsCacheFreeRecomputation() async throws {
        guard let path = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(3, model: path)
        let session = try await startCluster(
            modelPath: path, workers: .addresses(servers.map(\.boundAddress)), split: [0..<7, 7..<20, 20..<30], secretFile: nil,
            engine: EngineOptions(threads: 1))
        let schedule = [30, 9, 9, 21, 30, 12, 5, 30, 2, 17, 30]
        var options = GenerationOptions(maxTokens: schedule.count)
        options.stopAtEndOfGeneration = false
        let result = try await session.generator.generate(prompt: Self.prompt, options: options, depth: { schedule[$0] })
        #expect(result.depths == Array(schedule.prefix(result.depths.count)))
        // Replay: each generated token must be the argmax of a cache-free recomputation at its depth.
        let loaded = try LoadedModel.load(path: path)
        let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 1))
        var tokens = Self.prompt
        for (step, token) in result.tokens.enumerated() {
            let depth = schedule[step]
            let cache = KVCache(layers: 0..<30, kvDimension: loaded.config.kvDimension, limit: 512)
            let logits = try #require(try model.forward(tokens: tokens, cache: cache, exits: [depth], workspace: Workspace(config: loaded.config))[depth])
            #expect(logits.withUnsafeBufferPointer { Sampler.argmax($0) } == token, "step \(step) depth \(depth)")
            tokens.append(token)
        }
        await session.shutdown()
        for s in servers { await s.stop() }
    }

    @Test(arguments: [1, 2, 3])
    func workerProcessesMatchTheSingleProcessEngine(workers: Int) async throws {
        guard let model = ModelFixture.path(), let executable = ClusterHarness.executable else { return }
        let session = try await startCluster(
            modelPath: model, workers: .local(workers), split: nil, secretFile: nil, engine: EngineOptions(threads: 1),
            executable: executable)
        #expect(session.generator.cluster.split.count == workers)
        for exit in [30, 10] {
            var options = GenerationOptions(maxTokens: 10, exit: exit)
            options.stopAtEndOfGeneration = false
            let distributed = try await session.generator.generate(prompt: Self.prompt, options: options)
            let single = try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 10, exit: exit)
            #expect(distributed.tokens == single, "\(workers) workers, exit \(exit)")
        }
        await session.shutdown()
    }

    @Test func concurrentSequencesShareMicroBatchesAndKeepTheirOwnAnswers() async throws {
        guard let path = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(2, model: path)
        let session = try await startCluster(
            modelPath: path, workers: .addresses(servers.map(\.boundAddress)), split: [0..<12, 12..<30], secretFile: nil,
            engine: EngineOptions(threads: 1))
        let prompts = (0..<6).map { Array(Self.prompt.dropFirst($0)) }
        var settings = GenerationOptions(maxTokens: 10)
        settings.stopAtEndOfGeneration = false
        let options = settings
        let generator = session.generator
        let results = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (i, prompt) in prompts.enumerated() {
                group.addTask { (i, try await generator.generate(prompt: prompt, options: options).tokens) }
            }
            var all: [Int: [Int]] = [:]
            for try await (i, tokens) in group { all[i] = tokens }
            return all
        }
        // Teacher-forced replay in one process: wherever the top two logits are clearly apart,
        // the cluster's token must be the argmax. A merged micro-batch may cross the size where
        // products switch from 8-bit activations to f32 SGEMM, which moves logits by up to ~1
        // (as between llama.cpp and an exact computation), so "clear" is 0.5 here too.
        let loaded = try LoadedModel.load(path: path)
        let model = LlamaModel(model: loaded, pool: ComputePool(threadCount: 1))
        for (i, prompt) in prompts.enumerated() {
            let tokens = try #require(results[i])
            #expect(tokens.count == 10)
            let sequence = SequenceState(model: model, limit: 256)
            var logits = try sequence.step(prompt, depth: 30, model: model, workspace: Workspace(config: loaded.config))
            for (step, token) in tokens.enumerated() {
                let sorted = logits.sorted(by: >)
                if sorted[0] - sorted[1] > 0.5 {
                    #expect(logits.withUnsafeBufferPointer { Sampler.argmax($0) } == token, "sequence \(i) step \(step)")
                }
                logits = try sequence.step([token], depth: 30, model: model, workspace: Workspace(config: loaded.config))
            }
        }
        await session.shutdown()
        for s in servers { await s.stop() }
    }

    @Test func aWorkerWithoutTheModelReceivesItFromTheCoordinator() async throws {
        guard let model = ModelFixture.path() else { return }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strata-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // The worker's own "model" is some other file: its hash cannot match.
        let other = scratch.appendingPathComponent("other.bin").path
        try Data("not the model".utf8).write(to: URL(fileURLWithPath: other))
        var options = WorkerOptions(listen: PeerAddress(host: "127.0.0.1", port: 0), modelPath: other, threads: 1, name: "bare")
        options.cacheDirectory = scratch.appendingPathComponent("cache").path
        let bare = try await WorkerServer.start(options)
        let full = try await ClusterHarness.inProcessWorkers(1, model: model)
        let session = try await startCluster(
            modelPath: model, workers: .addresses([bare.boundAddress, full[0].boundAddress]), split: [0..<12, 12..<30],
            secretFile: nil, engine: EngineOptions(threads: 1))
        var settings = GenerationOptions(maxTokens: 8)
        settings.stopAtEndOfGeneration = false
        let tokens = try await session.generator.generate(prompt: Self.prompt, options: settings).tokens
        #expect(tokens == (try ClusterHarness.singleProcessTokens(model: model, prompt: Self.prompt, maxTokens: 8, exit: nil)))
        let cached = try FileManager.default.contentsOfDirectory(atPath: options.cacheDirectory)
        #expect(cached.count == 1 && cached[0].hasSuffix(".gguf"), "\(cached)")
        await session.shutdown()
        await bare.stop()
        for s in full { await s.stop() }
    }

    @Test func wrongSecretIsRefusedWithAClearError() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(1, model: model, secret: SharedSecret(string: "right"))
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("strata-secret-\(UUID().uuidString)").path
        try Data("wrong".utf8).write(to: URL(fileURLWithPath: secretFile))
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        do {
            let session = try await startCluster(
                modelPath: model, workers: .addresses(servers.map(\.boundAddress)), split: nil, secretFile: secretFile,
                engine: EngineOptions(threads: 1))
            await session.shutdown()
            Issue.record("a wrong secret was accepted")
        } catch {
            #expect("\(error)".contains("refused"), "\(error)")
        }
        for s in servers { await s.stop() }
    }

    @Test func splitPlanningFollowsSpeedAndRespectsMemory() {
        #expect(planSplit(layerCount: 30, weights: [1, 1]) == [0..<15, 15..<30])
        #expect(planSplit(layerCount: 30, weights: [2, 1]) == [0..<20, 20..<30])
        #expect(planSplit(layerCount: 3, weights: [100, 1, 1]) == [0..<1, 1..<2, 2..<3])
        #expect(planSplit(layerCount: 30, weights: [1, 1, 1])?.map(\.count) == [10, 10, 10])
        #expect(planSplit(layerCount: 31, weights: [1, 1, 1])?.map(\.count).reduce(0, +) == 31)
        // The fast worker can hold only 8 blocks: the rest go to the others.
        #expect(planSplit(layerCount: 30, weights: [4, 1, 1], capacities: [8, 30, 30])?.map(\.count) == [8, 11, 11])
        // Not enough memory anywhere: no plan.
        #expect(planSplit(layerCount: 30, weights: [1, 1], capacities: [10, 10]) == nil)
        #expect(planSplit(layerCount: 2, weights: [1, 1, 1]) == nil)
    }
}

/// A worker started from inside a callback, for the test to stop afterwards.
final class WorkerHolder: Sendable {
    let server = Mutex<WorkerServer?>(nil)
}
