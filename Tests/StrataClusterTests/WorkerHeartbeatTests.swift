import Foundation
import NIOCore
import NIOPosix
import StrataCluster
import StrataTestSupport
import StrataWire
import Synchronization
import Testing

/// A worker answers heartbeats from its I/O thread, so a queue of long steps never makes a live
/// worker look silent.
@Suite(.timeLimit(.minutes(3))) struct WorkerHeartbeatTests {
    @Test func aHeartbeatIsAnsweredWhileStepsAreStillComputing() async throws {
        guard let model = ModelFixture.path() else { return }
        let servers = try await ClusterHarness.inProcessWorkers(1, model: model)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let seen = Mutex<[Message]>([])
        let hash = try ModelIdentity.hash(path: model)
        let link = try await PeerLink.connect(
            to: servers[0].boundAddress, group: group,
            handshake: CoordinatorHandshake.Configuration(role: .coordinator, modelHash: hash, secret: .none, requiresLocalModel: true),
            limits: WireLimits(), onFrame: { frame in seen.withLock { $0.append(frame.message) } }, onClose: {})

        func waitFor(_ what: String, _ done: ([Message]) -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(120)
            while !seen.withLock({ done($0) }) {
                guard ContinuousClock.now < deadline else { throw ClusterError.notReady("no \(what) from the worker") }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        link.send(
            .assignLayers(
                AssignLayers(
                    layers: 0..<30, totalLayers: 30, activationDType: .f32, kvCacheDType: .f32, contextLimit: 512,
                    maxSequences: 4, maxBatchRows: 512, nextHop: nil, modelHash: hash)), requestID: 1)
        try await waitFor("LayersReady") { $0.contains { if case .layersReady = $0 { true } else { false } } }

        // Two long prompt steps, then a heartbeat right behind them on the same connection.
        let rows = 256, width = 576
        var generator = SystemRandomNumberGenerator()
        for sequence in 1...2 {
            let hidden = (0..<rows * width).map { _ in Float.random(in: -0.05...0.05, using: &generator) }
            link.send(
                .forward(
                    Forward(
                        stepID: UInt64(sequence), fromLayer: 0, exitLayer: 30,
                        rows: (0..<rows).map { ForwardRow(sequenceID: UInt64(sequence), position: UInt32($0)) },
                        hidden: WireTensor(values: hidden, rows: rows, columns: width, dtype: .f32))),
                requestID: UInt64(10 + sequence))
        }
        link.send(
            .heartbeat(
                Heartbeat(
                    sentAtNanos: 42, echoedNanos: 0, queueDepth: 0, busyPermyriad: 0, residentBytes: 0, kvBytes: 0,
                    sequencesHeld: 0)))
        try await waitFor("ForwardResult for both steps") { messages in
            messages.filter { if case .forwardResult = $0 { true } else { false } }.count == 2
        }

        let messages = seen.withLock { $0 }
        let heartbeatIndex = messages.firstIndex { if case .heartbeat = $0 { true } else { false } }
        let firstResult = messages.firstIndex { if case .forwardResult = $0 { true } else { false } }
        if let heartbeatIndex, let firstResult, case .heartbeat(let beat) = messages[heartbeatIndex] {
            #expect(heartbeatIndex < firstResult, "answered before the steps finished")
            #expect(beat.echoedNanos == 42)
            #expect(beat.queueDepth >= 1, "the second step was still waiting")
            #expect(beat.residentBytes > 50_000_000, "the 30 blocks' weights are counted")
        } else {
            Issue.record("no heartbeat answer or no step result: \(messages.map(\.kind))")
        }
        link.channel.close(promise: nil)
        try await group.shutdownGracefully()
        for s in servers { await s.stop() }
    }
}
