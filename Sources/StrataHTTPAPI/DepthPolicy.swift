import Foundation
import Synchronization

/// A source of time in seconds, so the depth policy can run on a fake clock in tests.
public protocol ServingClock: Sendable {
    func now() -> Double
}

/// Monotonic time since boot.
public struct SystemClock: ServingClock {
    public init() {}
    public func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// A clock that moves only when told to.
public final class ManualClock: ServingClock {
    private let time: Mutex<Double>
    public init(_ start: Double = 0) { time = Mutex(start) }
    public func now() -> Double { time.withLock { $0 } }
    public func advance(by seconds: Double) { time.withLock { $0 += seconds } }
}

/// How the coordinator chooses the depth of requests that do not name one.
public enum DepthMode: Sendable, Equatable, CustomStringConvertible {
    /// Always this exit.
    case fixed(Int)
    /// An operator's cap: every request is served at this exit or shallower.
    case admin(Int)
    /// The deepest sorted exit that keeps the latency objective, given the queue and the
    /// measured speed of the cluster.
    case adaptive

    public var description: String {
        switch self {
        case .fixed(let k): "fixed \(k)"
        case .admin(let k): "admin \(k)"
        case .adaptive: "adaptive"
        }
    }
}

/// The adaptive policy's knobs. Latencies are the whole request's, from arrival to last token.
public struct AdaptiveSettings: Sendable, Equatable {
    /// The latency objective for a request (seconds), what p99 should stay under.
    public var objective: Double
    /// Go shallower when the current exit's predicted latency passes this share of the objective.
    public var lowerAbove = 0.9
    /// Go one exit deeper only when that exit's predicted latency stays under this share…
    public var raiseBelow = 0.6
    /// … and the offered load would use at most this share of the cluster there …
    public var raiseUtilisation = 0.8
    /// … for this long (seconds).
    public var raiseHold = 5.0
    /// At the shallowest exit, refuse a request that would wait when the work present (running,
    /// queued and its own) would take longer than this share of the objective to get through.
    public var shedAbove = 0.7
    /// Least time between two changes (seconds).
    public var minimumDwell = 1.0

    public init(objective: Double) { self.objective = objective }
}

/// What the scheduler expects of a request admitted now at some exit.
public struct DepthForecast: Sendable, Equatable {
    /// Seconds from its arrival to its last token.
    public var latency: Double
    /// The share of the cluster the current arrivals would use if all were served there.
    public var utilisation: Double

    public init(latency: Double, utilisation: Double) {
        self.latency = latency
        self.utilisation = utilisation
    }
}

/// The adaptive depth with hysteresis: it drops at once (to the deepest exit predicted to keep
/// the objective) when the current one is predicted to miss it, and climbs back one exit at a
/// time, only after the next exit has been predicted comfortably inside the objective for
/// `raiseHold` seconds. The gap between `lowerAbove` and `raiseBelow`, the hold and the dwell
/// keep it from flapping.
public struct AdaptiveDepth: Sendable {
    public let exits: [Int]
    public let settings: AdaptiveSettings
    /// Index into `exits` of the current depth.
    public private(set) var index: Int
    private var lastChange: Double
    private var raiseSince: Double?
    /// Changes made so far (for status and tests).
    public private(set) var changes = 0

    public init(exits: [Int], settings: AdaptiveSettings, now: Double) {
        self.exits = exits.sorted()
        self.settings = settings
        index = max(exits.count - 1, 0)
        lastChange = now - settings.minimumDwell
    }

    public var depth: Int { exits[index] }

    /// Re-decides the depth from latencies alone (the load is taken as light).
    @discardableResult
    public mutating func update(now: Double, latency: (Int) -> Double?) -> Int {
        update(now: now, forecast: { k in latency(k).map { DepthForecast(latency: $0, utilisation: 0) } })
    }

    /// Re-decides the depth. `forecast(k)` is what a request admitted now at exit k would see,
    /// or nil while there is nothing to predict from (the depth then stays).
    @discardableResult
    public mutating func update(now: Double, forecast: (Int) -> DepthForecast?) -> Int {
        let objective = settings.objective
        let dwelt = now - lastChange >= settings.minimumDwell
        func predict(_ k: Int) -> Double? { forecast(k)?.latency }
        if let current = predict(depth), current > objective * settings.lowerAbove, index > 0 {
            raiseSince = nil
            guard dwelt else { return depth }
            // Deepest exit predicted inside the objective; the shallowest if none is.
            var target = 0
            for j in stride(from: index - 1, through: 0, by: -1) {
                if let p = predict(exits[j]), p <= objective * settings.lowerAbove {
                    target = j
                    break
                }
            }
            move(to: target, now: now)
            return depth
        }
        guard index + 1 < exits.count, let deeper = forecast(exits[index + 1]), deeper.latency <= objective * settings.raiseBelow,
            deeper.utilisation <= settings.raiseUtilisation
        else {
            raiseSince = nil
            return depth
        }
        let since = raiseSince ?? now
        raiseSince = since
        if now - since >= settings.raiseHold && dwelt {
            move(to: index + 1, now: now)
            raiseSince = nil
        }
        return depth
    }

    private mutating func move(to target: Int, now: Double) {
        guard target != index else { return }
        index = target
        lastChange = now
        changes += 1
    }
}

/// Measures how much work the cluster gets through per second, in block-tokens: a token
/// decoded at exit k costs k blocks plus the head (counted as `headBlocks` blocks); a prompt
/// token costs `promptWeight` of a decoded one, as prompts travel in batches.
///
/// The rate is taken over a sliding window and counts only time when something was running,
/// so idle periods do not make the cluster look slow.
public struct WorkRate: Sendable {
    public let headBlocks: Double
    public var promptWeight = 0.25
    public let window: Double
    private var samples: [(time: Double, units: Double)] = []
    private var busy: [(start: Double, end: Double)] = []
    private var busySince: Double?

    public init(headBlocks: Double, window: Double = 10) {
        self.headBlocks = headBlocks
        self.window = window
    }

    /// Block-tokens of decoding `tokens` at exit `depth` after a prompt of `promptTokens`.
    public func units(depth: Int, promptTokens: Int, tokens: Int) -> Double {
        (Double(tokens) + promptWeight * Double(promptTokens)) * (Double(depth) + headBlocks)
    }

    public mutating func record(units: Double, at time: Double) {
        samples.append((time, units))
        trim(now: time)
    }

    /// Marks whether anything is running from `time` on.
    public mutating func setBusy(_ isBusy: Bool, at time: Double) {
        if isBusy, busySince == nil {
            busySince = time
        } else if !isBusy, let start = busySince {
            busy.append((start, time))
            busySince = nil
        }
        trim(now: time)
    }

    /// Block-tokens per busy second over the window; nil until a second of busy time is seen.
    public func rate(now: Double) -> Double? {
        let from = now - window
        let units = samples.reduce(0.0) { $0 + ($1.time >= from ? $1.units : 0) }
        var seconds = busy.reduce(0.0) { $0 + max(0, $1.end - max($1.start, from)) }
        if let start = busySince { seconds += now - max(start, from) }
        guard seconds >= 1, units > 0 else { return nil }
        return units / seconds
    }

    private mutating func trim(now: Double) {
        let from = now - window
        if let first = samples.firstIndex(where: { $0.time >= from }) {
            samples.removeFirst(first)
        } else {
            samples.removeAll()
        }
        busy.removeAll { $0.end < from }
    }
}
