import Foundation
import Synchronization

/// How the server admits requests and picks their depth.
public struct SchedulerSettings: Sendable {
    public var layerCount: Int
    /// The model's sorted exits, ascending; the adaptive policy moves among them.
    public var exits: [Int]
    /// Requests generating at once; their steps share micro-batches at every step.
    public var maxRunning = 8
    /// Requests waiting for a place; one more is answered 429.
    public var maxQueue = 64
    public var mode: DepthMode
    /// The policy `strata depth set auto` returns to (and the adaptive knobs).
    public var adaptive: AdaptiveSettings
    /// The LM head's cost in blocks (its bytes over one block's).
    public var headBlocks: Double

    public init(layerCount: Int, exits: [Int], mode: DepthMode, adaptive: AdaptiveSettings, headBlocks: Double) {
        self.layerCount = layerCount
        self.exits = exits
        self.mode = mode
        self.adaptive = adaptive
        self.headBlocks = headBlocks
    }
}

/// What a request asks of the scheduler.
public struct DepthRequest: Sendable, Equatable {
    /// An exact exit (still under an operator's cap).
    public var depth: Int?
    /// The shallowest exit acceptable.
    public var minDepth: Int?
    /// The latency this request wants (seconds): it gets the deepest exit predicted to meet it.
    public var maxLatency: Double?
    public var promptTokens: Int
    public var maxTokens: Int

    public init(depth: Int? = nil, minDepth: Int? = nil, maxLatency: Double? = nil, promptTokens: Int, maxTokens: Int) {
        self.depth = depth
        self.minDepth = minDepth
        self.maxLatency = maxLatency
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
    }
}

/// Why a request was not admitted; each maps to an HTTP status with a message.
public enum AdmissionError: Error, Equatable, CustomStringConvertible {
    /// 429: the queue holds its limit already.
    case queueFull(limit: Int)
    /// 503: the server is draining and admits nothing new.
    case draining
    /// 503: the operator's cap is below what the request needs.
    case belowMinimum(minDepth: Int, cap: Int)
    /// 503: under the adaptive policy, even the shallowest exit is predicted to miss the
    /// objective; admitting more would only make every answer late.
    case overloaded(predicted: Double, objective: Double, exit: Int)

    public var description: String {
        switch self {
        case .queueFull(let limit): "the server is at capacity: \(limit) requests are already waiting; retry later"
        case .draining: "the server is draining and admits no new requests"
        case .belowMinimum(let m, let cap): "min_depth \(m) is above the operator's depth cap of \(cap)"
        case .overloaded(let predicted, let objective, let exit):
            String(
                format: "the server is overloaded: even at exit %d a request is predicted to take %.1f s, over the %.1f s objective; retry later",
                exit, predicted, objective)
        }
    }
}

/// A running request's place: the depth it was given and when it arrived.
public struct Ticket: Sendable, Equatable {
    public let id: UInt64
    public let depth: Int
    public let arrived: Double
    public let admitted: Double
}

/// What `strata depth status` shows.
public struct SchedulerStatus: Codable, Sendable, Equatable {
    public var mode: String
    /// The depth a request without its own controls gets now.
    public var depth: Int
    public var layers: Int
    public var exits: [Int]
    public var running: Int
    public var queued: Int
    public var maxRunning: Int
    public var maxQueue: Int
    public var draining: Bool
    public var objectiveMs: Double
    /// Block-tokens per busy second, measured; nil before enough work was seen.
    public var workRate: Double?
    public var tokensPerSecond: Double
    /// Predicted latency (ms) of a typical request admitted now, per exit.
    public var predictedLatencyMs: [String: Double]
    public var completed: Int
    public var rejected: Int
    public var depthChanges: Int
    /// The deepest exit the cluster reaches now (below `layers` while a worker is lost); set by
    /// the HTTP layer, nil from the scheduler alone.
    public var reachableDepth: Int?
}

/// What `strata drain` reports once everything admitted has finished.
public struct DrainReport: Codable, Sendable, Equatable {
    public var completed: Int
    public var finishedWhileDraining: Int
    public var rejectedWhileDraining: Int
    public var seconds: Double
}

/// Admission, the bounded queue and the depth policy of the HTTP server.
///
/// Requests run up to `maxRunning` at once (their steps share the cluster's micro-batches),
/// wait in a FIFO queue of up to `maxQueue` beyond that, and are refused past it. Each request's
/// depth is chosen when it starts running, from its own controls, the operator's cap and the
/// policy; a running request keeps its depth.
public final class ServingScheduler: Sendable {
    public let clock: any ServingClock
    private let state: Mutex<State>

    private struct Running {
        var depth: Int
        var promptTokens: Int
        var maxTokens: Int
        var generated = 0
        var prefilled = false
    }

    private struct Waiter {
        var id: UInt64
        var request: DepthRequest
        var arrived: Double
        var start: @Sendable (Result<Ticket, any Error>) -> Void
    }

    private struct State {
        var settings: SchedulerSettings
        var adaptive: AdaptiveDepth
        var rate: WorkRate
        var nextID: UInt64 = 1
        var running: [UInt64: Running] = [:]
        var queue: [Waiter] = []
        var draining = false
        var drainStarted = 0.0
        var drainWaiters: [CheckedContinuation<DrainReport, Never>] = []
        var completed = 0
        var rejected = 0
        var finishedWhileDraining = 0
        var rejectedWhileDraining = 0
        var tokenTimes: [Double] = []
        /// Sizes of recent requests, for the typical request status predicts.
        var recentSizes: [(prompt: Int, tokens: Int)] = []
        /// Arrivals over the last `arrivalWindow` seconds: when, and their sizes.
        var arrivals: [(time: Double, prompt: Int, tokens: Int)] = []
        var startedAt: Double
    }

    /// Seconds of arrivals the offered load is measured over.
    static let arrivalWindow = 20.0

    public init(settings: SchedulerSettings, clock: any ServingClock = SystemClock()) {
        self.clock = clock
        var settings = settings
        settings.exits = Array(Set(settings.exits.filter { (1...settings.layerCount).contains($0) } + [settings.layerCount])).sorted()
        state = Mutex(State(
            settings: settings, adaptive: AdaptiveDepth(exits: settings.exits, settings: settings.adaptive, now: clock.now()),
            rate: WorkRate(headBlocks: settings.headBlocks), startedAt: clock.now()))
    }

    public var settings: SchedulerSettings { state.withLock { $0.settings } }

    /// The depth mode in force.
    public var mode: DepthMode { state.withLock { $0.settings.mode } }

    // MARK: - Admission

    /// Waits for a place and returns the request's ticket, or throws `AdmissionError`
    /// (or `CancellationError` when the waiting task is cancelled).
    public func admit(_ request: DepthRequest) async throws -> Ticket {
        let id = reserveID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Ticket, any Error>) in
                submit(request, id: id) { c.resume(with: $0) }
            }
        } onCancel: {
            withdraw(id)
        }
    }

    /// A fresh request id, for `submit` and `withdraw`.
    public func reserveID() -> UInt64 {
        state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
    }

    /// Admits request `id` now or queues it; `onStart` is called exactly once — with the ticket
    /// when it starts (at once or when a place frees), or with the reason it was refused.
    public func submit(_ request: DepthRequest, id: UInt64, onStart: @escaping @Sendable (Result<Ticket, any Error>) -> Void) {
        let now = clock.now()
        let outcome: Result<Ticket, any Error>? = state.withLock { s in
            s.arrivals.append((now, request.promptTokens, request.maxTokens))
            if let first = s.arrivals.first, now - first.time > Self.arrivalWindow {
                s.arrivals.removeAll { now - $0.time > Self.arrivalWindow }
            }
            if s.draining {
                s.rejected += 1
                s.rejectedWhileDraining += 1
                return .failure(AdmissionError.draining)
            }
            if case .admin(let cap) = s.settings.mode, let m = request.minDepth, m > cap {
                s.rejected += 1
                return .failure(AdmissionError.belowMinimum(minDepth: m, cap: cap))
            }
            if s.running.count < s.settings.maxRunning && s.queue.isEmpty {
                return .success(Self.start(id: id, request, arrived: now, now: now, &s))
            }
            if let refusal = Self.shed(request, now: now, s) {
                s.rejected += 1
                return .failure(refusal)
            }
            guard s.queue.count < s.settings.maxQueue else {
                s.rejected += 1
                return .failure(AdmissionError.queueFull(limit: s.settings.maxQueue))
            }
            s.queue.append(Waiter(id: id, request: request, arrived: now, start: onStart))
            return nil
        }
        if let outcome { onStart(outcome) }
    }

    /// Takes a waiting request out of the queue (its `onStart` hears `CancellationError`);
    /// does nothing once it has started.
    public func withdraw(_ id: UInt64) {
        let waiter = state.withLock { s -> Waiter? in
            guard let i = s.queue.firstIndex(where: { $0.id == id }) else { return nil }
            return s.queue.remove(at: i)
        }
        waiter?.start(.failure(CancellationError()))
    }

    /// Records the prompt as processed.
    public func prefilled(_ ticket: Ticket) {
        let now = clock.now()
        state.withLock { s in
            guard var r = s.running[ticket.id], !r.prefilled else { return }
            r.prefilled = true
            s.running[ticket.id] = r
            s.rate.record(units: s.rate.units(depth: r.depth, promptTokens: r.promptTokens, tokens: 0), at: now)
        }
    }

    /// Records one generated token.
    public func generated(_ ticket: Ticket) {
        let now = clock.now()
        state.withLock { s in
            guard var r = s.running[ticket.id] else { return }
            r.generated += 1
            s.running[ticket.id] = r
            s.rate.record(units: s.rate.units(depth: r.depth, promptTokens: 0, tokens: 1), at: now)
            s.tokenTimes.append(now)
            if s.tokenTimes.count > 4096 || (s.tokenTimes.first.map { now - $0 > 10 } ?? false) {
                s.tokenTimes.removeAll { now - $0 > 10 }
            }
        }
    }

    /// Ends a running request (however it ended) and lets the next waiting ones start.
    public func finish(_ ticket: Ticket) {
        let now = clock.now()
        let (started, drained) = state.withLock { s -> ([(Waiter, Ticket)], [CheckedContinuation<DrainReport, Never>]) in
            guard let r = s.running.removeValue(forKey: ticket.id) else { return ([], []) }
            s.completed += 1
            if s.draining { s.finishedWhileDraining += 1 }
            s.recentSizes.append((r.promptTokens, r.maxTokens))
            if s.recentSizes.count > 64 { s.recentSizes.removeFirst(s.recentSizes.count - 64) }
            var started: [(Waiter, Ticket)] = []
            while s.running.count < s.settings.maxRunning, !s.queue.isEmpty {
                let w = s.queue.removeFirst()
                started.append((w, Self.start(id: w.id, w.request, arrived: w.arrived, now: now, &s)))
            }
            if s.running.isEmpty { s.rate.setBusy(false, at: now) }
            guard s.draining, s.running.isEmpty, s.queue.isEmpty else { return (started, []) }
            defer { s.drainWaiters.removeAll() }
            return (started, s.drainWaiters)
        }
        for (w, t) in started { w.start(.success(t)) }
        if !drained.isEmpty {
            let report = drainReport()
            for c in drained { c.resume(returning: report) }
        }
    }

    /// Moves a request to running with the depth chosen now. Called with the lock held.
    private static func start(id: UInt64, _ request: DepthRequest, arrived: Double, now: Double, _ s: inout State) -> Ticket {
        let depth = chooseDepth(request, arrived: arrived, now: now, &s)
        if s.running.isEmpty { s.rate.setBusy(true, at: now) }
        s.running[id] = Running(depth: depth, promptTokens: request.promptTokens, maxTokens: request.maxTokens)
        return Ticket(id: id, depth: depth, arrived: arrived, admitted: now)
    }

    /// Load shedding under the adaptive policy: once the policy is at its shallowest exit and
    /// the work already running and queued, served there, would take longer than the objective
    /// to get through, a request that would have to wait is refused at once rather than queued
    /// (an explicit `depth` or `min_depth` is no exception: it would only be slower). This
    /// looks at work present, not at the noisier offered-load estimate.
    private static func shed(_ request: DepthRequest, now: Double, _ s: State) -> AdmissionError? {
        guard case .adaptive = s.settings.mode, s.adaptive.index == 0, let exit = s.settings.exits.first,
            let rate = s.rate.rate(now: now)
        else { return nil }
        let work = backlog(depth: exit, s) + s.rate.units(depth: exit, promptTokens: request.promptTokens, tokens: request.maxTokens)
        let predicted = work / rate
        guard predicted > s.settings.adaptive.objective * s.settings.adaptive.shedAbove else { return nil }
        return .overloaded(predicted: predicted, objective: s.settings.adaptive.objective, exit: exit)
    }

    private static func chooseDepth(_ request: DepthRequest, arrived: Double, now: Double, _ s: inout State) -> Int {
        let waited = now - arrived
        let base: Int
        switch s.settings.mode {
        case .fixed(let k), .admin(let k): base = k
        case .adaptive:
            var adaptive = s.adaptive
            base = adaptive.update(now: now) { k in Self.forecast(depth: k, request: request, waited: waited, s, now: now) }
            s.adaptive = adaptive
        }
        var depth = request.depth ?? base
        if case .admin(let cap) = s.settings.mode { depth = min(depth, cap) }
        if request.depth == nil, let budget = request.maxLatency {
            let candidates = s.settings.exits.filter { $0 <= depth }
            depth = candidates.last(where: { (Self.forecast(depth: $0, request: request, waited: waited, s, now: now)?.latency ?? 0) <= budget })
                ?? candidates.first ?? depth
        }
        if let floor = request.minDepth, depth < floor {
            depth = s.settings.exits.first(where: { $0 >= floor }) ?? floor
        }
        return min(max(depth, 1), s.settings.layerCount)
    }

    /// The latency a request admitted now at exit `depth` is predicted to see: the time it has
    /// waited, plus the work ahead of it (running requests' remaining tokens at their depths,
    /// queued requests at this depth) over the measured rate, plus its own work stretched by
    /// the load the arrivals offer at this depth — requests share the cluster's micro-batches,
    /// so at utilisation ρ each gets 1 − ρ of it (processor sharing). At ρ ≥ 1 the queue grows
    /// without bound, and so does the prediction.
    private static func forecast(depth: Int, request: DepthRequest, waited: Double, _ s: State, now: Double) -> DepthForecast? {
        guard let rate = s.rate.rate(now: now) else { return nil }
        let backlog = backlog(depth: depth, s)
        let own = s.rate.units(depth: depth, promptTokens: request.promptTokens, tokens: request.maxTokens)
        let span = min(Self.arrivalWindow, max(now - s.startedAt, 1))
        let offered = s.arrivals.filter { now - $0.time <= span }
            .reduce(0.0) { $0 + s.rate.units(depth: depth, promptTokens: $1.prompt, tokens: $1.tokens) } / span
        let utilisation = offered / rate
        guard utilisation < 0.98 else { return DepthForecast(latency: .infinity, utilisation: utilisation) }
        return DepthForecast(latency: waited + backlog / rate + own / (rate * (1 - utilisation)), utilisation: utilisation)
    }

    /// Block-tokens still to do for the running requests (at their depths) and the queued ones
    /// (at `depth`).
    private static func backlog(depth: Int, _ s: State) -> Double {
        var work = 0.0
        for r in s.running.values {
            work += s.rate.units(depth: r.depth, promptTokens: r.prefilled ? 0 : r.promptTokens, tokens: max(r.maxTokens - r.generated, 0))
        }
        for w in s.queue { work += s.rate.units(depth: depth, promptTokens: w.request.promptTokens, tokens: w.request.maxTokens) }
        return work
    }

    // MARK: - Operator controls

    /// Sets the depth mode (`strata depth set K` → admin K, `set auto` → adaptive).
    public func setMode(_ mode: DepthMode) {
        state.withLock { s in
            s.settings.mode = mode
            if case .adaptive = mode {
                s.adaptive = AdaptiveDepth(exits: s.settings.exits, settings: s.settings.adaptive, now: clock.now())
            }
        }
    }

    /// Stops admitting; returns once every running and queued request has finished.
    public func drain() async -> DrainReport {
        let now = clock.now()
        let done: Bool = state.withLock { s in
            if !s.draining {
                s.draining = true
                s.drainStarted = now
                s.finishedWhileDraining = 0
                s.rejectedWhileDraining = 0
            }
            return s.running.isEmpty && s.queue.isEmpty
        }
        if done { return drainReport() }
        return await withCheckedContinuation { c in
            let now = state.withLock { s -> Bool in
                if s.running.isEmpty && s.queue.isEmpty { return true }
                s.drainWaiters.append(c)
                return false
            }
            if now { c.resume(returning: drainReport()) }
        }
    }

    /// Admits requests again after a drain.
    public func resume() {
        state.withLock { $0.draining = false }
    }

    private func drainReport() -> DrainReport {
        let now = clock.now()
        return state.withLock { s in
            DrainReport(
                completed: s.completed, finishedWhileDraining: s.finishedWhileDraining,
                rejectedWhileDraining: s.rejectedWhileDraining, seconds: now - s.drainStarted)
        }
    }

    public func status() -> SchedulerStatus {
        let now = clock.now()
        return state.withLock { s in
            let sizes = s.recentSizes.isEmpty ? [(prompt: 32, tokens: 64)] : s.recentSizes
            let typical = DepthRequest(
                promptTokens: sizes.reduce(0) { $0 + $1.prompt } / sizes.count,
                maxTokens: sizes.reduce(0) { $0 + $1.tokens } / sizes.count)
            var predictions: [String: Double] = [:]
            for k in s.settings.exits {
                if let p = Self.forecast(depth: k, request: typical, waited: 0, s, now: now)?.latency, p.isFinite {
                    predictions[String(k)] = p * 1000
                }
            }
            let depth: Int
            switch s.settings.mode {
            case .fixed(let k), .admin(let k): depth = k
            case .adaptive: depth = s.adaptive.depth
            }
            let recentTokens = s.tokenTimes.filter { now - $0 <= 10 }
            let span = min(10, max(now - (recentTokens.first ?? now), 1))
            return SchedulerStatus(
                mode: s.settings.mode.description, depth: depth, layers: s.settings.layerCount, exits: s.settings.exits,
                running: s.running.count, queued: s.queue.count, maxRunning: s.settings.maxRunning,
                maxQueue: s.settings.maxQueue, draining: s.draining, objectiveMs: s.settings.adaptive.objective * 1000,
                workRate: s.rate.rate(now: now), tokensPerSecond: Double(recentTokens.count) / span,
                predictedLatencyMs: predictions, completed: s.completed, rejected: s.rejected,
                depthChanges: s.adaptive.changes)
        }
    }

    /// Depths of the running requests (for metrics).
    public func runningDepths() -> [Int] { state.withLock { $0.running.values.map(\.depth) } }
}
