import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StrataHTTPAPI
import StrataModel
import StrataTrain
import Synchronization

/// `strata loadtest`: open-loop Poisson arrivals against a running server.
public struct LoadTestConfig: Sendable {
    public var url: String
    /// Mean arrivals per second.
    public var rate: Double
    /// Seconds during which requests are sent.
    public var duration: Double
    public var prompts: [String] = LoadTestConfig.defaultPrompts
    public var chat = true
    public var maxTokens = 32
    /// Stop sending after this many requests even if time remains.
    public var maxRequests: Int?
    /// Seconds to wait for answers after the last request was sent.
    public var drainTimeout = 120.0
    public var seed: UInt64 = 1
    /// Per-request controls, applied to every request.
    public var depth: Int?
    public var minDepth: Int?
    public var maxLatencyMs: Double?
    public var client = ClientOptions()

    public init(url: String, rate: Double, duration: Double) {
        self.url = url
        self.rate = rate
        self.duration = duration
    }

    public static let defaultPrompts = [
        "Give three tips for staying healthy.",
        "What is the capital of France?",
        "Describe the water cycle in two sentences.",
        "Write a haiku about autumn.",
        "Explain what a prime number is.",
        "Name three primary colours.",
        "How do airplanes stay in the air?",
        "Suggest a name for a bakery.",
    ]

    /// Prompts from a file: JSON lines with "prompt", "instruction" (+ "input") or "question"
    /// fields, or plain text, one prompt per line.
    public static func loadPrompts(path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AppError.invalidArgument("cannot read the prompts file \(path)")
        }
        var prompts: [String] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            if text.hasPrefix("{") {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                    throw AppError.invalidArgument("\(path):\(number + 1): not a JSON object")
                }
                let instruction = object["instruction"] as? String
                let input = (object["input"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                guard let prompt = object["prompt"] as? String ?? object["question"] as? String
                    ?? instruction.map({ i in input.map { "\(i)\n\n\($0)" } ?? i })
                else {
                    throw AppError.invalidArgument("\(path):\(number + 1): no \"prompt\", \"instruction\" or \"question\" field")
                }
                prompts.append(prompt)
            } else {
                prompts.append(text)
            }
        }
        guard !prompts.isEmpty else { throw AppError.invalidArgument("\(path) holds no prompts") }
        return prompts
    }
}

/// One request of a load test, as the client saw it. Times in seconds from the test's start.
public struct LoadTestRecord: Codable, Sendable {
    public var index: Int
    public var sentAt: Double
    public var status: Int
    public var depth: Int?
    public var timeToFirstToken: Double?
    public var latency: Double?
    public var tokens: Int?
    public var error: String?
}

/// The server's state, sampled once a second during the test.
public struct LoadTestSample: Codable, Sendable {
    public var at: Double
    /// The depth a request without its own controls would get: the policy's, capped by what
    /// the cluster reaches.
    public var depth: Int
    public var running: Int
    public var queued: Int
    public var mode: String
}

/// One second of the test.
public struct LoadTestBucket: Codable, Sendable {
    public var second: Int
    /// Requests sent in this second.
    public var offered: Int
    /// Requests that finished (successfully) in this second.
    public var completed: Int
    public var rejected: Int
    /// Mean depth of the requests sent in this second that were served.
    public var meanDepth: Double?
    /// Latency percentiles of the requests sent in this second that were served.
    public var p50: Double?
    public var p99: Double?
    public var queued: Int?
}

public struct Percentiles: Codable, Sendable {
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?
    public var max: Double?

    init(_ values: [Double]) {
        let sorted = values.sorted()
        func at(_ q: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            // Nearest rank: the smallest value with at least q of the values at or below it.
            let rank = Int((q * Double(sorted.count)).rounded(.up))
            return sorted[Swift.min(Swift.max(rank - 1, 0), sorted.count - 1)]
        }
        p50 = at(0.5)
        p90 = at(0.9)
        p99 = at(0.99)
        max = sorted.last
    }
}

public struct LoadTestReport: Codable, Sendable {
    public var url: String
    public var rate: Double
    public var duration: Double
    public var maxTokens: Int
    /// The server's depth policy and latency objective when the test began.
    public var policy: String?
    public var objectiveMs: Double?
    public var sent: Int
    public var completed: Int
    /// Answered 429 (queue full).
    public var rejectedBusy: Int
    /// Answered 503 (draining, unavailable).
    public var rejectedUnavailable: Int
    public var failed: Int
    /// Seconds from the first request sent to the last answer.
    public var wallSeconds: Double
    public var completedPerSecond: Double
    public var tokensPerSecond: Double
    public var timeToFirstToken: Percentiles
    public var latency: Percentiles
    public var meanDepth: Double?
    /// Served requests per depth.
    public var depthMix: [String: Int]
    public var timeline: [LoadTestBucket]
    public var samples: [LoadTestSample]
    public var records: [LoadTestRecord]
}

/// Runs the test: requests leave at exponential intervals (open loop: an answer's slowness
/// never delays the next arrival), each streamed so the time to first token is seen.
/// `progress` hears a line about once a second.
public func runLoadTest(_ config: LoadTestConfig, progress: @escaping @Sendable (String) -> Void) async throws -> LoadTestReport {
    guard config.rate > 0, config.rate.isFinite, config.duration > 0, config.duration.isFinite else {
        throw AppError.invalidArgument("--rate and --duration must be positive")
    }
    guard !config.prompts.isEmpty else { throw AppError.invalidArgument("no prompts") }
    let limit = config.maxRequests ?? Int((config.rate * config.duration * 2).rounded(.up)) + 16
    guard limit >= 1 else { throw AppError.invalidArgument("--max-requests must be at least 1") }
    let client = try ServingClient(url: config.url, options: config.client, connections: max(limit, 8))
    do {
        let result = try await LoadTestRun(config: config, client: client, limit: limit).run(progress: progress)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

private struct LoadTestRun: Sendable {
    let config: LoadTestConfig
    let client: ServingClient
    let limit: Int

    func run(progress: @escaping @Sendable (String) -> Void) async throws -> LoadTestReport {
        let start = ContinuousClock.now
        let book = LoadTestBook()
        let now: @Sendable () -> Double = { (ContinuousClock.now - start).seconds }
        let initial = try await client.call(.GET, "/admin/depth", as: SchedulerStatus.self)
        let bodies = try config.prompts.map { prompt in
            var request = SubmitRequest(prompt: prompt)
            request.chat = config.chat
            request.maxTokens = config.maxTokens
            request.depth = config.depth
            request.minDepth = config.minDepth
            request.maxLatencyMs = config.maxLatencyMs
            return try request.body(stream: true)
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // The sampler: server state once a second, and a progress line.
            group.addTask {
                while !Task.isCancelled {
                    if let status = try? await client.call(.GET, "/admin/depth", as: SchedulerStatus.self) {
                        book.samples.withLock {
                            $0.append(LoadTestSample(
                                at: now(), depth: min(status.depth, status.reachableDepth ?? status.depth), running: status.running,
                                queued: status.queued, mode: status.mode))
                        }
                        let done = book.records.withLock { r in r.filter { $0.status != 0 }.count }
                        let sent = book.records.withLock { $0.count }
                        progress(String(
                            format: "%5.0fs  sent %d  answered %d  running %d  queued %d  depth %d", now(), sent, done,
                            status.running, status.queued, status.depth))
                    }
                    if book.sendingDone.load(ordering: .relaxed), book.records.withLock({ $0.allSatisfy { $0.status != 0 } }) { return }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            var generator = SplitMix(seed: config.seed)
            var due = 0.0
            var index = 0
            while index < limit {
                due += -log(1 - generator.nextUnit()) / config.rate
                guard due < config.duration else { break }
                try await Task.sleep(until: start + .milliseconds(Int64(due * 1000)), clock: .continuous)
                let body = bodies[index % bodies.count]
                let i = index
                let sentAt = now()
                book.records.withLock { $0.append(LoadTestRecord(index: i, sentAt: sentAt, status: 0)) }
                group.addTask {
                    var record = LoadTestRecord(index: i, sentAt: sentAt, status: 0)
                    do {
                        let outcome = try await client.stream(
                            path: body.path, body: body.json, timeout: .seconds(Int64(config.duration + config.drainTimeout)))
                        record.status = outcome.status
                        record.depth = outcome.depth
                        if outcome.status == 200 && outcome.error == nil {
                            record.timeToFirstToken = outcome.firstTokenAfter
                            record.latency = outcome.totalSeconds
                            record.tokens = outcome.completionTokens ?? outcome.pieces
                        } else {
                            record.error = outcome.error ?? "status \(outcome.status)"
                        }
                    } catch {
                        record.status = -1
                        record.error = "\(error)"
                    }
                    let finished = record
                    book.records.withLock { $0[i] = finished }
                }
                index += 1
            }
            book.sendingDone.store(true, ordering: .relaxed)
            // The group ends when every request has its answer (each has its own timeout).
            try await group.waitForAll()
        }
        return report(records: book.records.withLock { $0 }, samples: book.samples.withLock { $0 }, initial: initial)
    }

    func report(records: [LoadTestRecord], samples: [LoadTestSample], initial: SchedulerStatus) -> LoadTestReport {
        let served = records.filter { $0.status == 200 && $0.error == nil }
        let ends = served.compactMap { r in r.latency.map { r.sentAt + $0 } }
        let wall = max(ends.max() ?? config.duration, 1e-9)
        let depths = served.compactMap(\.depth)
        var mix: [String: Int] = [:]
        for d in depths { mix[String(d), default: 0] += 1 }
        let seconds = Int(max(config.duration, ends.max() ?? 0).rounded(.up))
        let timeline = (0..<max(seconds, 1)).map { t -> LoadTestBucket in
            let sent = records.filter { Int($0.sentAt) == t }
            let ok = sent.filter { $0.status == 200 && $0.error == nil }
            let latencies = Percentiles(ok.compactMap(\.latency))
            let okDepths = ok.compactMap(\.depth)
            return LoadTestBucket(
                second: t, offered: sent.count,
                completed: served.filter { r in r.latency.map { Int(r.sentAt + $0) == t } ?? false }.count,
                rejected: sent.filter { $0.status == 429 || $0.status == 503 }.count,
                meanDepth: okDepths.isEmpty ? nil : Double(okDepths.reduce(0, +)) / Double(okDepths.count),
                p50: latencies.p50, p99: latencies.p99,
                queued: samples.last(where: { Int($0.at) == t })?.queued)
        }
        return LoadTestReport(
            url: config.url, rate: config.rate, duration: config.duration, maxTokens: config.maxTokens, policy: initial.mode,
            objectiveMs: initial.objectiveMs, sent: records.count,
            completed: served.count, rejectedBusy: records.filter { $0.status == 429 }.count,
            rejectedUnavailable: records.filter { $0.status == 503 }.count,
            failed: records.filter { !($0.status == 200 && $0.error == nil) && $0.status != 429 && $0.status != 503 }.count,
            wallSeconds: wall, completedPerSecond: Double(served.count) / wall,
            tokensPerSecond: Double(served.compactMap(\.tokens).reduce(0, +)) / wall,
            timeToFirstToken: Percentiles(served.compactMap(\.timeToFirstToken)), latency: Percentiles(served.compactMap(\.latency)),
            meanDepth: depths.isEmpty ? nil : Double(depths.reduce(0, +)) / Double(depths.count), depthMix: mix,
            timeline: timeline, samples: samples, records: records)
    }
}

/// The report as a few lines of text.
public func describe(_ report: LoadTestReport) -> String {
    func ms(_ v: Double?) -> String { v.map { String(format: "%.0f", $0 * 1000) } ?? "-" }
    let mix = report.depthMix.sorted { (Int($0.key) ?? 0) > (Int($1.key) ?? 0) }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
    return [
        String(format: "offered     %.2f req/s for %.0f s, %d tokens each: %d sent", report.rate, report.duration, report.maxTokens, report.sent),
        "server      \(report.policy ?? "-")" + (report.objectiveMs.map { String(format: ", objective %.0f ms", $0) } ?? ""),
        String(format: "answered    %d completed, %d refused busy (429), %d unavailable (503), %d failed", report.completed, report.rejectedBusy, report.rejectedUnavailable, report.failed),
        String(format: "throughput  %.2f req/s, %.1f tokens/s over %.1f s", report.completedPerSecond, report.tokensPerSecond, report.wallSeconds),
        "ttft ms     p50 \(ms(report.timeToFirstToken.p50))  p90 \(ms(report.timeToFirstToken.p90))  p99 \(ms(report.timeToFirstToken.p99))",
        "latency ms  p50 \(ms(report.latency.p50))  p90 \(ms(report.latency.p90))  p99 \(ms(report.latency.p99))  max \(ms(report.latency.max))",
        "depth       mean \(report.meanDepth.map { String(format: "%.1f", $0) } ?? "-")  mix \(mix)",
    ].joined(separator: "\n")
}

/// What a running load test has seen so far, shared by its tasks.
private final class LoadTestBook: Sendable {
    let records = Mutex<[LoadTestRecord]>([])
    let samples = Mutex<[LoadTestSample]>([])
    let sendingDone = Atomic<Bool>(false)
}
