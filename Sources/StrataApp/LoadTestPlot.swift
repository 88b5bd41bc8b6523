import Foundation
import StrataPlot

/// The load test over time, in 5-second windows by arrival: offered and completed requests per
/// second, the depth served and the policy's depth, p50/p99 latency against the objective, and
/// the queue.
public func loadTestFigure(_ report: LoadTestReport) -> Figure {
    let window = 5.0
    let end = max(report.timeline.count, 1)
    let starts = stride(from: 0.0, to: Double(end), by: window).map { $0 }
    func inWindow(_ t: Double, _ start: Double) -> Bool { t >= start && t < start + window }
    let served = report.records.filter { $0.status == 200 && $0.error == nil }
    var offered: [(x: Double, y: Double)] = []
    var completed: [(x: Double, y: Double)] = []
    var refused: [(x: Double, y: Double)] = []
    var depth: [(x: Double, y: Double)] = []
    var p50: [(x: Double, y: Double)] = []
    var p99: [(x: Double, y: Double)] = []
    for start in starts {
        let mid = start + window / 2
        let sent = report.records.filter { inWindow($0.sentAt, start) }
        offered.append((mid, Double(sent.count) / window))
        completed.append((mid, Double(served.filter { r in r.latency.map { inWindow(r.sentAt + $0, start) } ?? false }.count) / window))
        refused.append((mid, Double(sent.filter { $0.status == 429 || $0.status == 503 }.count) / window))
        let ok = served.filter { inWindow($0.sentAt, start) }
        let depths = ok.compactMap(\.depth)
        if !depths.isEmpty { depth.append((mid, Double(depths.reduce(0, +)) / Double(depths.count))) }
        let latencies = Percentiles(ok.compactMap(\.latency))
        if let v = latencies.p50 { p50.append((mid, v)) }
        if let v = latencies.p99 { p99.append((mid, v)) }
    }
    let policy = report.samples.map { (x: $0.at, y: Double($0.depth)) }
    let queued = report.samples.map { (x: $0.at, y: Double($0.queued)) }
    let running = report.samples.map { (x: $0.at, y: Double($0.running)) }
    let adaptive = report.policy == "adaptive"
    let objective = adaptive ? report.objectiveMs.map { [ReferenceLine(y: $0 / 1000, label: "objective")] } ?? [] : []
    let xRange = 0.0...Double(end)
    return Figure(
        title: String(format: "%.2f req/s for %.0f s, policy %@", report.rate, report.duration, report.policy ?? "-"),
        panels: [
            Panel(
                title: "Requests per second (5 s windows)", xLabel: "seconds", yLabel: "req/s",
                series: [Series("offered", points: offered), Series("completed", points: completed), Series("refused", points: refused)],
                xRange: xRange),
            Panel(
                title: "Depth", xLabel: "seconds", yLabel: "exit layer",
                series: [Series("served (mean, by arrival)", points: depth, style: .lineAndMarkers), Series("policy", points: policy)],
                xRange: xRange),
            Panel(
                title: "Latency by arrival", xLabel: "seconds", yLabel: "seconds",
                series: [Series("p50", points: p50, style: .lineAndMarkers), Series("p99", points: p99, style: .lineAndMarkers)],
                referenceLines: objective, xRange: xRange),
            Panel(
                title: "Server", xLabel: "seconds", yLabel: "requests",
                series: [Series("queued", points: queued), Series("running", points: running)], xRange: xRange),
        ])
}

/// Writes `loadTestFigure` as a PNG.
public func writeLoadTestPlot(_ report: LoadTestReport, to path: String) throws {
    try loadTestFigure(report).write(to: path)
}
