import Benchmark
import NIOCore
import StrataWire

/// Encoding and parsing a decode-step `Forward` (8 rows of a 576-wide hidden state): the codec
/// must stay allocation-light in steady state.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3), maxIterations: 1_000_000)

    let rows = (0..<8).map { ForwardRow(sequenceID: UInt64($0), position: UInt32(100 + $0)) }
    let hidden = WireTensor(values: [Float](repeating: 0.25, count: 8 * 576), rows: 8, columns: 576, dtype: .f32)
    let frame = Frame(.forward(Forward(stepID: 1, fromLayer: 0, exitLayer: 30, rows: rows, hidden: hidden)), requestID: 1)

    Benchmark("encode Forward, 8 rows x 576 f32") { benchmark in
        var buffer = ByteBufferAllocator().buffer(capacity: 32 << 10)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            try frame.encode(into: &buffer)
            blackHole(buffer.readableBytes)
        }
    }

    Benchmark("parse Forward, 8 rows x 576 f32") { benchmark in
        let encoded = try frame.encoded()
        for _ in benchmark.scaledIterations {
            var buffer = encoded
            blackHole(try Frame.parse(&buffer))
        }
    }
}
