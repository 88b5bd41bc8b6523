import Benchmark
import CStrataKernels
import Foundation
import StrataFormats
import StrataKernels

/// Decode-shape products of SmolLM2 (Q4_1 blocks, the Q8_0 head) and fused attention. Wall
/// clock and throughput are reported; allocations are gated: a product costs a few fixed small
/// allocations per call (the product list, the pool's job slot), never any that grow with the
/// matrix, and a baseline check fails if that count rises.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3), maxIterations: 100_000,
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2])])

    for (name, type, rows, columns) in [
        ("Q4_1 1536x576 (ffn up)", GGMLType.q4_1, 1536, 576), ("Q4_1 576x1536 (ffn down)", .q4_1, 576, 1536),
        ("Q8_0 49152x576 (tied head)", .q8_0, 49152, 576), ("F16 1536x576", .f16, 1536, 576),
    ] {
        let matrix = RandomMatrix(type: type, rows: rows, columns: columns)
        for threads in [1, 2] {
            Benchmark("matvec \(name), \(threads) thread\(threads == 1 ? "" : "s")", configuration: .init(scalingFactor: .one)) { benchmark in
                let linear = Linear(pool: ComputePool(threadCount: threads))
                var x = [Float](repeating: 0.5, count: columns)
                for i in x.indices { x[i] = Float(i % 17) / 17 - 0.5 }
                var y = [Float](repeating: 0, count: rows)
                linear.matvec(matrix.weights, x, &y)  // warm scratch outside the measurement
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    linear.matvec(matrix.weights, x, &y)
                    blackHole(y[0])
                }
                benchmark.stopMeasurement()
            }
        }
    }

    for context in [512, 4096] {
        Benchmark("attention 9x64 heads, 3 KV heads, context \(context)") { benchmark in
            let attention = Attention(pool: ComputePool(threadCount: 2))
            let shape = AttentionShape(heads: 9, kvHeads: 3, headDim: 64)
            let q = [Float](repeating: 0.1, count: 9 * 64)
            var keys = [Float](repeating: 0, count: context * 192)
            for i in keys.indices { keys[i] = Float(i % 13) / 13 - 0.5 }
            let values = keys
            var out = [Float](repeating: 0, count: 9 * 64)
            attention.run(shape: shape, q: q, keys: keys, values: values, out: &out, start: context - 1, count: 1)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                attention.run(shape: shape, q: q, keys: keys, values: values, out: &out, start: context - 1, count: 1)
                blackHole(out[0])
            }
            benchmark.stopMeasurement()
        }
    }
}

/// A seeded random matrix quantised to `type`.
final class RandomMatrix: @unchecked Sendable {
    // SAFETY: written once in init.
    let weights: WeightMatrix
    private let storage: UnsafeMutableRawPointer

    init(type: GGMLType, rows: Int, columns: Int) {
        let rowBytes = type.byteCount(elements: columns) ?? 0
        storage = .allocate(byteCount: rowBytes * rows, alignment: 64)
        var state: UInt64 = 42
        var row = [Float](repeating: 0, count: columns)
        for r in 0..<rows {
            for c in 0..<columns {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                row[c] = Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
            }
            _ = st_quantize_row(Int32(type.rawValue), row, storage + r * rowBytes, Int64(columns))
        }
        // The matrix was just built with this shape and byte count, so binding cannot fail.
        weights = try! WeightMatrix(
            type: type, rows: rows, columns: columns,
            bytes: UnsafeRawBufferPointer(start: storage, count: rowBytes * rows), owner: nil)
    }
}
