import Prometheus
import Synchronization
import StrataCluster

/// The Prometheus metrics of `/metrics`: queue, throughput, latency histograms, depth served
/// and per-worker load. Event metrics are recorded as they happen; the queue, rate and worker
/// gauges are read from the scheduler and the cluster when scraped.
public final class ServingMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let queued: Gauge
    private let running: Gauge
    private let policyDepth: Gauge
    private let tokensPerSecond: Gauge
    private let workRate: Gauge
    private let draining: Gauge
    private let stepTimeouts: Gauge
    private let timeToFirstToken: ValueHistogram
    private let tokenLatency: ValueHistogram
    private let requestLatency: ValueHistogram
    private let depthServed: ValueHistogram
    private let generatedTokens: Counter
    private let promptTokens: Counter
    private let layers: Int
    /// Each worker's row count at the last scrape, so the counters advance by the difference.
    private let lastRows = Mutex([String: Int]())

    public init(layerCount: Int) {
        layers = layerCount
        func name(_ metric: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "strata", metricName: metric, unitName: unit, helpText: help)
        }
        queued = registry.makeGauge(descriptor: name("queue_length", "requests", "Requests waiting for a place."))
        running = registry.makeGauge(descriptor: name("running", "requests", "Requests generating now."))
        policyDepth = registry.makeGauge(descriptor: name("policy_depth", "", "Depth a request without its own controls gets now."))
        tokensPerSecond = registry.makeGauge(descriptor: name("generated_tokens_per_second", "", "Tokens generated per second over the last 10 s."))
        workRate = registry.makeGauge(descriptor: name("work_rate", "block_tokens_per_second", "Measured cluster speed, in block-tokens per busy second."))
        draining = registry.makeGauge(descriptor: name("draining", "", "1 while the server drains."))
        stepTimeouts = registry.makeGauge(
            descriptor: name("step_timeouts", "", "Worker links closed so far because a step outlived the step deadline."))
        let latencyBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120]
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: name("time_to_first_token", "seconds", "From arrival to the first generated token."), buckets: latencyBuckets)
        tokenLatency = registry.makeValueHistogram(
            descriptor: name("token_latency", "seconds", "Time between consecutive generated tokens of one request."),
            buckets: [0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2])
        requestLatency = registry.makeValueHistogram(
            descriptor: name("request_latency", "seconds", "From arrival to the last token."), buckets: latencyBuckets)
        depthServed = registry.makeValueHistogram(
            descriptor: name("depth_served", "", "Exit depth each request was served at."),
            buckets: (1...layerCount).map(Double.init))
        generatedTokens = registry.makeCounter(descriptor: name("generated_tokens", "total", "Tokens generated."))
        promptTokens = registry.makeCounter(descriptor: name("prompt_tokens", "total", "Prompt tokens processed."))
    }

    private func requests(_ outcome: String) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "strata", metricName: "requests", unitName: "total", helpText: "Requests by outcome."),
            labels: [("outcome", outcome)])
    }

    /// Counts a request by how it ended: ok, rejected_queue_full, rejected_draining, bad_request, error.
    public func count(outcome: String) { requests(outcome).increment() }

    public func served(depth: Int, promptTokens prompt: Int) {
        depthServed.record(Double(depth))
        promptTokens.increment(by: Int64(prompt))
    }

    public func firstToken(after seconds: Double) { timeToFirstToken.record(seconds) }

    public func token(gap seconds: Double?) {
        generatedTokens.increment()
        if let seconds { tokenLatency.record(seconds) }
    }

    public func finished(after seconds: Double) { requestLatency.record(seconds) }

    /// The text exposition, with the gauges refreshed from `status` and the cluster's load.
    public func exposition(status: SchedulerStatus, load: [StageLoad], stepTimeouts: Int = 0) -> String {
        queued.set(to: Double(status.queued))
        running.set(to: Double(status.running))
        policyDepth.set(to: Double(status.depth))
        tokensPerSecond.set(to: status.tokensPerSecond)
        workRate.set(to: status.workRate ?? 0)
        draining.set(to: status.draining ? 1.0 : 0.0)
        self.stepTimeouts.set(to: Double(stepTimeouts))
        for stage in load {
            let advance = lastRows.withLock { last in
                defer { last[stage.worker] = stage.rows }
                return max(stage.rows - (last[stage.worker] ?? 0), 0)
            }
            let labels = [("worker", stage.worker), ("layers", "\(stage.layers.lowerBound)-\(stage.layers.upperBound)")]
            registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "strata", metricName: "worker_rows", unitName: "total",
                    helpText: "Rows (token positions) each worker has computed through its blocks."),
                labels: labels
            ).increment(by: Int64(advance))
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "strata", metricName: "worker_in_flight", unitName: "batches",
                    helpText: "Micro-batches sent to the chain that reach this worker and have not returned."),
                labels: labels
            ).set(to: Double(stage.inFlight))
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "strata", metricName: "worker_up", unitName: "",
                    helpText: "1 while the worker serves its blocks, 0 while it is lost."),
                labels: labels
            ).set(to: stage.up ? 1 : 0)
        }
        return registry.emitToString()
    }
}
