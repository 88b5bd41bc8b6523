import Foundation
import StrataHTTPAPI
import StrataTestSupport
import Synchronization
import Testing

/// A cluster simulated on a fake clock: it gets through `capacity` block-tokens per second,
/// shared equally among running requests, and reports progress to a real `ServingScheduler`.
final class SimulatedCluster: @unchecked Sendable {
    // SAFETY: used from one test thread; the scheduler's callbacks run synchronously on it.
    let clock = ManualClock()
    let scheduler: ServingScheduler
    let capacity: Double
    let headBlocks = 6.0
    let promptTokens = 20
    let maxTokens = 32

    struct Job {
        var ticket: Ticket
        var done = 0.0
        var prefilled = false
        var tokens = 0
    }
    struct Finished {
        var arrived: Double
        var latency: Double
        var depth: Int
    }
    private let started = Mutex<[Ticket]>([])
    var running: [Job] = []
    var finished: [Finished] = []
    var refused = 0
    /// Policy depth and queue length, once a second.
    var depthTrace: [(time: Double, depth: Int, queued: Int)] = []

    init(mode: DepthMode, capacity: Double, objective: Double, maxRunning: Int = 8, maxQueue: Int = 400) {
        self.capacity = capacity
        var settings = SchedulerSettings(
            layerCount: 30, exits: [9, 12, 15, 18, 21, 24, 27, 30], mode: mode, adaptive: AdaptiveSettings(objective: objective),
            headBlocks: headBlocks)
        settings.maxRunning = maxRunning
        settings.maxQueue = maxQueue
        scheduler = ServingScheduler(settings: settings, clock: clock)
    }

    /// Requests a full-depth request costs, in block-tokens.
    var fullDepthCost: Double { (Double(maxTokens) + 0.25 * Double(promptTokens)) * (30 + headBlocks) }

    func arrive() {
        let id = scheduler.reserveID()
        scheduler.submit(DepthRequest(promptTokens: promptTokens, maxTokens: maxTokens), id: id) { [self] result in
            if case .success(let ticket) = result { self.started.withLock { $0.append(ticket) } }
        }
    }

    /// Moves time by `dt`, sharing the work among running requests.
    func tick(_ dt: Double) {
        clock.advance(by: dt)
        let fresh = started.withLock { list in
            defer { list.removeAll() }
            return list
        }
        running += fresh.map { Job(ticket: $0) }
        guard !running.isEmpty else { return }
        let share = capacity * dt / Double(running.count)
        var still: [Job] = []
        for var job in running {
            job.done += share
            let perToken = Double(job.ticket.depth) + headBlocks
            let promptCost = 0.25 * Double(promptTokens) * perToken
            if !job.prefilled && job.done >= promptCost {
                job.prefilled = true
                scheduler.prefilled(job.ticket)
            }
            while job.prefilled && job.tokens < maxTokens && job.done >= promptCost + Double(job.tokens + 1) * perToken {
                job.tokens += 1
                scheduler.generated(job.ticket)
            }
            if job.tokens == maxTokens {
                finished.append(Finished(arrived: job.ticket.arrived, latency: clock.now() - job.ticket.arrived, depth: job.ticket.depth))
                scheduler.finish(job.ticket)
            } else {
                still.append(job)
            }
        }
        running = still
    }

    /// Runs Poisson arrivals at `rate(t)` requests per second until `end`.
    func run(until end: Double, seed: UInt64 = 7, rate: (Double) -> Double) {
        var random = SplitMix64(seed: seed)
        let dt = 0.02
        var nextArrival = 0.0
        var nextTrace = 0.0
        while clock.now() < end {
            let now = clock.now()
            while nextArrival <= now {
                let r = rate(nextArrival)
                if r > 0 { arrive() }
                let u = Double(random.next() >> 11) / Double(1 << 53)
                nextArrival += -log(1 - u) / max(r, 0.05)
            }
            if now >= nextTrace {
                let status = scheduler.status()
                depthTrace.append((now, status.depth, status.queued))
                nextTrace += 1
            }
            tick(dt)
        }
        refused = scheduler.status().rejected
    }

    func p99(arrivedIn range: ClosedRange<Double>) -> Double {
        let latencies = finished.filter { range.contains($0.arrived) }.map(\.latency).sorted()
        guard !latencies.isEmpty else { return .infinity }
        return latencies[min(latencies.count - 1, Int((0.99 * Double(latencies.count)).rounded(.up)) - 1)]
    }
}

@Suite struct DepthPolicyTests {
    static let objective = 10.0

    /// Light load, then twice the full-depth capacity for three minutes, then light again.
    static func phases(capacity: Double, cost: Double) -> (Double) -> Double {
        let full = capacity / cost
        return { t in t < 60 ? 0.4 * full : (t < 240 ? 2 * full : 0.4 * full) }
    }

    @Test func adaptiveDepthFallsUnderOverloadHoldsTheObjectiveAndRecovers() {
        let sim = SimulatedCluster(mode: .adaptive, capacity: 2000, objective: Self.objective)
        sim.run(until: 420, rate: Self.phases(capacity: 2000, cost: sim.fullDepthCost))
        let depthAt = { (t: Double) in sim.depthTrace.last { $0.time <= t }?.depth ?? 0 }
        // Light load: full depth throughout.
        #expect(sim.depthTrace.filter { $0.time >= 5 && $0.time < 60 }.allSatisfy { $0.depth == 30 })
        // Overload: shallower within half a minute, and the requests keep the objective.
        #expect(depthAt(90) < 30)
        let p99 = sim.p99(arrivedIn: 90...240)
        #expect(p99 <= Self.objective, "p99 \(p99) s during overload")
        // Afterwards: back to full depth.
        #expect(depthAt(420) == 30)
        // No flapping: a handful of changes for three load changes.
        let changes = zip(sim.depthTrace, sim.depthTrace.dropFirst()).filter { $0.depth != $1.depth }.count
        #expect(changes <= 12, "\(changes) depth changes")
        #expect(sim.refused == 0)
        let meanDepth = Double(sim.finished.filter { (120...240).contains($0.arrived) }.map(\.depth).reduce(0, +))
            / Double(max(sim.finished.filter { (120...240).contains($0.arrived) }.count, 1))
        #expect(meanDepth < 25 && meanDepth >= 9)
    }

    @Test func beyondWhatTheShallowestExitCanServeTheAdaptivePolicyShedsLoad() {
        // Four times the full-depth capacity: more than exit 9 can serve (2.4× here).
        let sim = SimulatedCluster(mode: .adaptive, capacity: 2000, objective: Self.objective)
        let full = 2000 / sim.fullDepthCost
        sim.run(until: 200, rate: { t in t < 20 ? 0.4 * full : 4 * full })
        #expect(sim.refused > 0)
        let p99 = sim.p99(arrivedIn: 60...200)
        #expect(p99 <= Self.objective, "p99 \(p99) s of the admitted requests")
        #expect(sim.finished.filter { $0.arrived > 60 }.allSatisfy { $0.depth == 9 })
    }

    @Test func fixedDepthLetsTheQueueGrowUnderTheSameLoad() {
        let sim = SimulatedCluster(mode: .fixed(30), capacity: 2000, objective: Self.objective)
        sim.run(until: 300, rate: Self.phases(capacity: 2000, cost: sim.fullDepthCost))
        #expect(sim.p99(arrivedIn: 90...240) > 3 * Self.objective)
        let queued = sim.depthTrace.filter { $0.time > 200 && $0.time < 240 }.map(\.queued)
        #expect((queued.max() ?? 0) > 50)
        #expect(sim.finished.allSatisfy { $0.depth == 30 })
    }

    @Test func predictionsAroundTheThresholdDoNotFlap() {
        // The prediction wobbles ±15% around the objective at exit 21: the policy settles and stays.
        var policy = AdaptiveDepth(exits: [9, 15, 21, 30], settings: AdaptiveSettings(objective: 1), now: 0)
        var random = SplitMix64(seed: 3)
        var depths: [Int] = []
        for step in 0..<2000 {
            let wobble = 1 + 0.15 * Double(random.float())
            let depth = policy.update(now: Double(step) * 0.05, latency: { k in Double(k) / 21 * 0.9 * wobble })
            depths.append(depth)
        }
        #expect(policy.changes <= 2, "\(policy.changes) changes")
        #expect(depths.last == 15 || depths.last == 21)
    }

    @Test func raisesOneExitAtATimeOnlyAfterTheHold() {
        var policy = AdaptiveDepth(exits: [9, 15, 21, 30], settings: AdaptiveSettings(objective: 1), now: 0)
        #expect(policy.update(now: 0, latency: { _ in 5 }) == 9)  // overloaded: straight to the shallowest
        // Load gone: each exit predicted well inside the objective.
        var t = 1.0
        #expect(policy.update(now: t, latency: { _ in 0.1 }) == 9)
        t += 4.9
        #expect(policy.update(now: t, latency: { _ in 0.1 }) == 9)
        t += 0.2
        #expect(policy.update(now: t, latency: { _ in 0.1 }) == 15)
        t += 0.1
        #expect(policy.update(now: t, latency: { _ in 0.1 }) == 15)
        t += 5.1
        #expect(policy.update(now: t, latency: { _ in 0.1 }) == 21)
        // Nothing to predict from: the depth stays.
        #expect(policy.update(now: t + 100, latency: { _ in nil }) == 21)
    }
}

@Suite struct SchedulerTests {
    func scheduler(mode: DepthMode = .fixed(30), running: Int = 2, queue: Int = 1) -> ServingScheduler {
        var settings = SchedulerSettings(
            layerCount: 30, exits: [9, 15, 21, 30], mode: mode, adaptive: AdaptiveSettings(objective: 1), headBlocks: 12)
        settings.maxRunning = running
        settings.maxQueue = queue
        return ServingScheduler(settings: settings, clock: ManualClock())
    }

    /// What each submitted request heard (nothing yet: still queued).
    final class Outcomes: Sendable {
        let map = Mutex<[UInt64: Result<Ticket, any Error>]>([:])
        subscript(_ id: UInt64) -> Result<Ticket, any Error>? { map.withLock { $0[id] } }
    }

    /// Submits synchronously; the outcome lands in `box` at once or when the request starts.
    func submit(_ s: ServingScheduler, _ request: DepthRequest, into box: Outcomes) -> UInt64 {
        let id = s.reserveID()
        s.submit(request, id: id) { result in box.map.withLock { $0[id] = result } }
        return id
    }

    @Test func boundedQueueRefusesWhenFullAndStartsWaitersInOrder() throws {
        let s = scheduler()
        let results = Outcomes()
        let request = DepthRequest(promptTokens: 4, maxTokens: 4)
        let a = submit(s, request, into: results)
        let b = submit(s, request, into: results)
        let c = submit(s, request, into: results)
        let d = submit(s, request, into: results)
        let first = try #require(results[a])
        #expect(results[b] != nil)
        #expect(results[c] == nil)  // waiting
        #expect(throws: AdmissionError.queueFull(limit: 1)) { try results[d]?.get() }
        s.finish(try first.get())
        let started = try #require(results[c])
        #expect(try started.get().depth == 30)
        #expect(s.status().rejected == 1 && s.status().running == 2 && s.status().queued == 0)
    }

    @Test func withdrawnWaiterHearsCancellation() throws {
        let s = scheduler(running: 1, queue: 4)
        let results = Outcomes()
        _ = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        let waiting = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        s.withdraw(waiting)
        #expect(throws: CancellationError.self) { try results[waiting]?.get() }
        #expect(s.status().queued == 0)
    }

    @Test func operatorCapAppliesToEveryRequestAndRefusesAHigherMinimum() throws {
        let s = scheduler(running: 8, queue: 8)
        s.setMode(.admin(15))
        let results = Outcomes()
        let plain = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        let explicit = submit(s, DepthRequest(depth: 30, promptTokens: 1, maxTokens: 1), into: results)
        let shallow = submit(s, DepthRequest(depth: 9, promptTokens: 1, maxTokens: 1), into: results)
        let tooDeep = submit(s, DepthRequest(minDepth: 21, promptTokens: 1, maxTokens: 1), into: results)
        #expect(try results[plain]?.get().depth == 15)
        #expect(try results[explicit]?.get().depth == 15)
        #expect(try results[shallow]?.get().depth == 9)
        #expect(throws: AdmissionError.belowMinimum(minDepth: 21, cap: 15)) { try results[tooDeep]?.get() }
        s.setMode(.fixed(30))
        #expect(s.status().depth == 30)
    }

    @Test func minimumDepthRaisesToTheNextSortedExit() throws {
        let s = scheduler(mode: .fixed(9), running: 8, queue: 8)
        let results = Outcomes()
        let id = submit(s, DepthRequest(minDepth: 16, promptTokens: 1, maxTokens: 1), into: results)
        #expect(try results[id]?.get().depth == 21)
    }

    @Test func latencyBudgetPicksTheDeepestExitPredictedToMeetIt() throws {
        let clock = ManualClock()
        var settings = SchedulerSettings(
            layerCount: 30, exits: [9, 15, 21, 30], mode: .fixed(30), adaptive: AdaptiveSettings(objective: 1), headBlocks: 10)
        settings.maxRunning = 8
        let s = ServingScheduler(settings: settings, clock: clock)
        let results = Outcomes()
        // Teach it a rate and a load: a 20-token request every 2 s for 20 s, a token per 20 ms
        // at depth 30 → 2000 block-tokens per busy second, the cluster a fifth busy.
        for i in 0..<10 {
            let warm = submit(s, DepthRequest(promptTokens: 0, maxTokens: 20), into: results)
            let ticket = try #require(try results[warm]?.get())
            for _ in 0..<20 {
                clock.advance(by: 0.02)
                s.generated(ticket)
            }
            s.finish(ticket)
            clock.advance(by: i == 9 ? 0.6 : 1.6)
        }
        // A 50-token request: 11 arrivals in 19 s offer ρ(k) = (k+10)/152 of the cluster and
        // its own work is 50(k+10) block-tokens, so latency(k) = 50(k+10) / (2000 (1 − ρ(k))):
        // depth 30 → 1.35 s, 21 → 0.97 s, 15 → 0.75 s, 9 → 0.54 s.
        let tight = submit(s, DepthRequest(maxLatency: 0.85, promptTokens: 0, maxTokens: 50), into: results)
        #expect(try results[tight]?.get().depth == 15)
        let impossible = submit(s, DepthRequest(maxLatency: 0.01, promptTokens: 0, maxTokens: 50), into: results)
        #expect(try results[impossible]?.get().depth == 9)
        let loose = submit(s, DepthRequest(maxLatency: 60, promptTokens: 0, maxTokens: 50), into: results)
        #expect(try results[loose]?.get().depth == 30)
    }

    @Test func drainFinishesAdmittedWorkAndRefusesNewRequests() async throws {
        let s = scheduler(running: 1, queue: 4)
        let results = Outcomes()
        let a = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        let b = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        let drained = Task { await s.drain() }
        while !s.status().draining { await Task.yield() }
        let late = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        #expect(throws: AdmissionError.draining) { try results[late]?.get() }
        s.finish(try #require(try results[a]?.get()))
        s.finish(try #require(try results[b]?.get()))  // the waiter started when a finished
        let report = await drained.value
        #expect(report.finishedWhileDraining == 2 && report.rejectedWhileDraining == 1 && report.completed == 2)
        s.resume()
        let again = submit(s, DepthRequest(promptTokens: 1, maxTokens: 1), into: results)
        #expect(throws: Never.self) { try results[again]?.get() }
    }
}
