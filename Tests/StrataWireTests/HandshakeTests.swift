import StrataTestSupport
import StrataWire
import Testing

/// Runs a worker and a connecting side against each other until one ends the handshake.
struct HandshakeRun {
    var worker: WorkerHandshake
    var coordinator: CoordinatorHandshake
    var workerPeer: WorkerHandshake.Peer?
    var coordinatorPeer: CoordinatorHandshake.Peer?
    /// The Goodbye that ended the run, and which side sent it.
    var refusal: (by: String, goodbye: Goodbye)?
    /// Every message, in order, as "w: kind" or "c: kind".
    var transcript: [String] = []

    init(
        worker: WorkerHandshake.Configuration = Fixtures.workerConfiguration,
        coordinator: CoordinatorHandshake.Configuration = Fixtures.coordinatorConfiguration, seed: UInt64 = 1
    ) throws {
        var rng = SplitMix64(seed: seed)
        self.worker = try WorkerHandshake(configuration: worker, challenge: .random(using: &rng))
        self.coordinator = CoordinatorHandshake(configuration: coordinator, challenge: .random(using: &rng))
    }

    mutating func run() {
        var toCoordinator: Message?
        switch worker.start() {
        case .send(let message): toCoordinator = message
        default: Issue.record("start must send Hello")
        }
        while let message = toCoordinator {
            toCoordinator = nil
            transcript.append("w: \(message.kind)")
            var toWorker: Message?
            switch coordinator.receive(message) {
            case .send(let reply): toWorker = reply
            case .establish(let peer): coordinatorPeer = peer
            case .sendAndClose(let goodbye): refusal = ("coordinator", goodbye)
            case .sendAndEstablish, .close: Issue.record("unexpected coordinator action")
            }
            guard let reply = toWorker else { return }
            transcript.append("c: \(reply.kind)")
            switch worker.receive(reply) {
            case .sendAndEstablish(let welcome, let peer):
                workerPeer = peer
                toCoordinator = welcome
            case .sendAndClose(let goodbye): refusal = ("worker", goodbye)
            case .send, .establish, .close: Issue.record("unexpected worker action")
            }
        }
    }
}

@Suite("Handshake")
struct HandshakeTests {
    @Test func succeedsWithASharedSecret() throws {
        var run = try HandshakeRun()
        run.run()
        #expect(run.refusal == nil)
        #expect(run.transcript == ["w: Hello", "c: Authenticate", "w: Welcome"])
        let worker = try #require(run.workerPeer)
        #expect(worker.version == 1 && worker.role == .coordinator && worker.hasModelLocally)
        #expect(worker.modelHash == Fixtures.modelHash)
        let coordinator = try #require(run.coordinatorPeer)
        #expect(coordinator.version == 1 && coordinator.hasModelLocally)
        #expect(coordinator.hello.name == "worker-a" && coordinator.hello.hardware == Fixtures.hardware)
    }

    @Test func succeedsWithoutASecret() throws {
        var worker = Fixtures.workerConfiguration
        worker.secret = .none
        var coordinator = Fixtures.coordinatorConfiguration
        coordinator.secret = .none
        var run = try HandshakeRun(worker: worker, coordinator: coordinator)
        run.run()
        #expect(run.refusal == nil)
        #expect(run.workerPeer != nil && run.coordinatorPeer != nil)
    }

    @Test("differing secrets are refused", arguments: [
        ("correct horse battery staple", "wrong"), ("", "correct horse battery staple"),
        ("correct horse battery staple", ""),
    ])
    func differingSecretsAreRefused(workerSecret: String, coordinatorSecret: String) throws {
        var worker = Fixtures.workerConfiguration
        worker.secret = SharedSecret(string: workerSecret)
        var coordinator = Fixtures.coordinatorConfiguration
        coordinator.secret = SharedSecret(string: coordinatorSecret)
        var run = try HandshakeRun(worker: worker, coordinator: coordinator)
        run.run()
        // The worker checks first, so it is the one that refuses; nothing about its model is revealed.
        #expect(run.refusal?.by == "worker")
        #expect(run.refusal?.goodbye.reason == .badSecret)
        #expect(run.workerPeer == nil && run.coordinatorPeer == nil)
    }

    @Test func coordinatorRefusesAWorkerWithoutTheSecret() throws {
        // A worker that skips verification and answers with a proof under another key.
        var rng = SplitMix64(seed: 3)
        var coordinator = CoordinatorHandshake(
            configuration: Fixtures.coordinatorConfiguration, challenge: .random(using: &rng))
        let hello = Fixtures.hello
        guard case .send(.authenticate(let authenticate)) = coordinator.receive(.hello(hello)) else {
            Issue.record("expected Authenticate")
            return
        }
        let transcript = try HandshakeProof.transcript(
            hello: hello, version: authenticate.version, role: authenticate.role, modelHash: authenticate.modelHash)
        let forged = HandshakeProof.workerProof(
            secret: SharedSecret(string: "guess"), coordinatorChallenge: authenticate.challenge,
            workerChallenge: hello.challenge, transcript: transcript)
        let action = coordinator.receive(.welcome(Welcome(proof: forged)))
        guard case .sendAndClose(let goodbye) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(goodbye.reason == .badSecret)
        #expect(coordinator.receive(.welcome(Welcome(proof: forged))) == .close(peerSaid: nil))
    }

    @Test func reflectedOrReplayedProofsAreRefused() throws {
        // Reflection: the coordinator's own proof sent back as the worker's.
        var rng = SplitMix64(seed: 11)
        var coordinator = CoordinatorHandshake(
            configuration: Fixtures.coordinatorConfiguration, challenge: .random(using: &rng))
        guard case .send(.authenticate(let authenticate)) = coordinator.receive(.hello(Fixtures.hello)) else {
            Issue.record("expected Authenticate")
            return
        }
        #expect(
            coordinator.receive(.welcome(Welcome(proof: authenticate.proof)))
                == .sendAndClose(Goodbye(.badSecret, message: "the worker's proof does not verify")))

        // Replay: a Welcome valid for one connection is useless on another with a fresh challenge.
        var worker = try WorkerHandshake(configuration: Fixtures.workerConfiguration, challenge: Fixtures.workerChallenge)
        var original = CoordinatorHandshake(
            configuration: Fixtures.coordinatorConfiguration, challenge: Fixtures.coordinatorChallenge)
        guard case .send(let hello) = worker.start(), case .send(let auth) = original.receive(hello),
            case .sendAndEstablish(let welcome, _) = worker.receive(auth)
        else {
            Issue.record("the fixture handshake must succeed")
            return
        }
        var replayTarget = CoordinatorHandshake(configuration: Fixtures.coordinatorConfiguration, challenge: .random())
        _ = replayTarget.receive(hello)
        guard case .sendAndClose(let goodbye) = replayTarget.receive(welcome) else {
            Issue.record("a replayed Welcome must be refused")
            return
        }
        #expect(goodbye.reason == .badSecret)
    }

    @Test func alteredHelloBreaksTheProof() throws {
        // A man in the middle that rewrites the Hello (here its capabilities) changes the transcript.
        var worker = try WorkerHandshake(configuration: Fixtures.workerConfiguration, challenge: Fixtures.workerChallenge)
        var coordinator = CoordinatorHandshake(
            configuration: Fixtures.coordinatorConfiguration, challenge: Fixtures.coordinatorChallenge)
        guard case .send(.hello(var hello)) = worker.start() else {
            Issue.record("expected Hello")
            return
        }
        hello.capabilities = []
        guard case .send(let authenticate) = coordinator.receive(.hello(hello)) else {
            Issue.record("expected Authenticate")
            return
        }
        guard case .sendAndClose(let goodbye) = worker.receive(authenticate) else {
            Issue.record("expected the worker to refuse")
            return
        }
        #expect(goodbye.reason == .badSecret)
    }

    @Test func versionRangesWithoutOverlapAreRefused() throws {
        var worker = Fixtures.workerConfiguration
        worker.versions = 2...3
        var run = try HandshakeRun(worker: worker)
        run.run()
        #expect(run.refusal?.by == "coordinator")
        #expect(run.refusal?.goodbye.reason == .unsupportedVersion)

        // A connecting side that picks a version outside the worker's range is refused by the worker.
        var coordinator = Fixtures.coordinatorConfiguration
        coordinator.versions = 1...1
        var future = Fixtures.workerConfiguration
        future.versions = 1...4
        var picky = try HandshakeRun(worker: future, coordinator: coordinator)
        picky.run()
        #expect(picky.refusal == nil)
        #expect(picky.workerPeer?.version == 1)

        var w = try WorkerHandshake(configuration: Fixtures.workerConfiguration)
        _ = w.start()
        let auth = Authenticate(
            version: 9, role: .coordinator, challenge: .zero, proof: .zero, modelHash: Fixtures.modelHash)
        guard case .sendAndClose(let goodbye) = w.receive(.authenticate(auth)) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(goodbye.reason == .unsupportedVersion)
    }

    @Test func workerRefusesAnotherModelUnlessItAcceptsStreaming() throws {
        var coordinator = Fixtures.coordinatorConfiguration
        coordinator.modelHash = Bytes32(repeatElement(0xAB, count: 32))!
        var strict = try HandshakeRun(coordinator: coordinator)
        strict.run()
        #expect(strict.refusal?.by == "worker")
        #expect(strict.refusal?.goodbye.reason == .modelMismatch)

        var flexible = Fixtures.workerConfiguration
        flexible.acceptsOtherModels = true
        var streaming = try HandshakeRun(worker: flexible, coordinator: coordinator)
        streaming.run()
        #expect(streaming.refusal == nil)
        #expect(streaming.workerPeer?.hasModelLocally == false)
        #expect(streaming.coordinatorPeer?.hasModelLocally == false)
    }

    @Test func coordinatorRequiringLocalModelsRefusesAWorkerWithout() throws {
        var worker = Fixtures.workerConfiguration
        worker.localModelHash = nil
        worker.acceptsOtherModels = true
        var coordinator = Fixtures.coordinatorConfiguration
        coordinator.requiresLocalModel = true
        var run = try HandshakeRun(worker: worker, coordinator: coordinator)
        run.run()
        // Judged only after the worker's proof verified.
        #expect(run.transcript == ["w: Hello", "c: Authenticate", "w: Welcome"])
        #expect(run.refusal?.by == "coordinator")
        #expect(run.refusal?.goodbye.reason == .modelMismatch)
    }

    @Test func upstreamStageRoleReachesTheWorker() throws {
        var coordinator = Fixtures.coordinatorConfiguration
        coordinator.role = .upstreamStage
        var run = try HandshakeRun(coordinator: coordinator)
        run.run()
        #expect(run.workerPeer?.role == .upstreamStage)
    }

    @Test("messages out of order are protocol errors", arguments: [
        Message.welcome(Welcome(proof: .zero)), .drain, .shutdown, .authenticate(
            Authenticate(version: 1, role: .coordinator, challenge: .zero, proof: .zero, modelHash: .zero)),
        .release(Release(sequenceIDs: [1])),
    ])
    func coordinatorRefusesAnythingButHelloFirst(message: Message) {
        var coordinator = CoordinatorHandshake(configuration: Fixtures.coordinatorConfiguration)
        guard case .sendAndClose(let goodbye) = coordinator.receive(message) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(goodbye.reason == .protocolError)
        #expect(coordinator.receive(.hello(Fixtures.hello)) == .close(peerSaid: nil))
    }

    @Test func workerRefusesMessagesOutOfOrder() throws {
        var beforeStart = try WorkerHandshake(configuration: Fixtures.workerConfiguration)
        guard case .sendAndClose(let early) = beforeStart.receive(.drain) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(early.reason == .protocolError)

        for message in [Message.hello(Fixtures.hello), .welcome(Welcome(proof: .zero)), .shutdown] {
            var worker = try WorkerHandshake(configuration: Fixtures.workerConfiguration)
            _ = worker.start()
            guard case .sendAndClose(let goodbye) = worker.receive(message) else {
                Issue.record("expected a refusal of \(message.kind)")
                continue
            }
            #expect(goodbye.reason == .protocolError)
        }

        var run = try HandshakeRun()
        run.run()
        guard case .sendAndClose(let late) = run.worker.receive(.welcome(Welcome(proof: .zero))) else {
            Issue.record("an established handshake must refuse further handshake input")
            return
        }
        #expect(late.reason == .protocolError)
    }

    @Test func goodbyeDuringTheHandshakeCloses() throws {
        var worker = try WorkerHandshake(configuration: Fixtures.workerConfiguration)
        _ = worker.start()
        let busy = Goodbye(.busy, message: "another coordinator")
        #expect(worker.receive(.goodbye(busy)) == .close(peerSaid: busy))
        var coordinator = CoordinatorHandshake(configuration: Fixtures.coordinatorConfiguration)
        #expect(coordinator.receive(.goodbye(busy)) == .close(peerSaid: busy))
        #expect(coordinator.timedOut() == .close(peerSaid: nil))
    }

    @Test func deadlineEndsAnUnfinishedHandshake() throws {
        var worker = try WorkerHandshake(configuration: Fixtures.workerConfiguration)
        _ = worker.start()
        guard case .sendAndClose(let goodbye) = worker.timedOut() else {
            Issue.record("expected a refusal")
            return
        }
        #expect(goodbye.reason == .timedOut)
        var coordinator = CoordinatorHandshake(configuration: Fixtures.coordinatorConfiguration)
        guard case .sendAndClose(let late) = coordinator.timedOut() else {
            Issue.record("expected a refusal")
            return
        }
        #expect(late.reason == .timedOut)
        var done = try HandshakeRun()
        done.run()
        #expect(done.coordinator.timedOut() == .close(peerSaid: nil))
    }

    /// Found by FuzzHandshake: once a side had answered a late deadline with `close`, a stray
    /// message made it send a Goodbye. After the deadline it stays closed, on both sides.
    @Test func aDeadlineAfterEstablishmentLeavesBothSidesClosed() throws {
        var done = try HandshakeRun()
        done.run()
        #expect(done.coordinator.timedOut() == .close(peerSaid: nil))
        #expect(done.coordinator.receive(.drain) == .close(peerSaid: nil))
        #expect(done.coordinator.receive(.goodbye(Goodbye(.busy, message: "late"))) == .close(peerSaid: nil))
        #expect(done.worker.timedOut() == .close(peerSaid: nil))
        #expect(done.worker.receive(.drain) == .close(peerSaid: nil))
    }

    @Test func workerNameTooLongIsRejectedUpFront() {
        var configuration = Fixtures.workerConfiguration
        configuration.name = String(repeating: "x", count: 256)
        #expect(throws: WireError.countTooLarge(kind: .hello, field: "name", count: 256, limit: 255)) {
            try WorkerHandshake(configuration: configuration)
        }
    }

    @Test func freshChallengesDiffer() {
        let a = Challenge.random(), b = Challenge.random()
        #expect(a != b)
        var r1 = SplitMix64(seed: 4), r2 = SplitMix64(seed: 4)
        #expect(Challenge.random(using: &r1) == Challenge.random(using: &r2))
    }
}
