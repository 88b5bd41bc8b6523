import Foundation
import StrataKernels
import StrataModel

/// One batch size's timing of a block's seven products on each path.
public struct CrossoverRow: Codable, Sendable {
    public var batch: Int
    /// Median microseconds for the block's products with weights read in place (quantised activations).
    public var inPlaceMicroseconds: Double
    /// Median microseconds with dequantised weight tiles through SGEMM.
    public var gemmMicroseconds: Double
}

/// Times one block's products (Q, K, V, O, gate, up, down of block 0) at each batch size on
/// both matrix paths: where the in-place path stops winning is the right `smallBatchLimit`.
public func measureCrossover(
    modelPath: String, engine: EngineOptions, batches: [Int] = [1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512],
    repeats: Int = 9
) throws -> [CrossoverRow] {
    let loaded = try LoadedModel.load(path: modelPath, layers: 0..<1)
    let model = try engine.makeModel(loaded)
    guard let block = model.weights.blocks[0] else { throw AppError.invalidArgument("the model has no block 0") }
    let linear = model.linear
    let saved = (linear.smallBatchLimit, linear.floatSmallBatchLimit)
    defer { (linear.smallBatchLimit, linear.floatSmallBatchLimit) = saved }
    let matrices = [block.query, block.key, block.value, block.attentionOutput, block.gate, block.up, block.down]
    let widest = matrices.map { max($0.rows, $0.columns) }.max() ?? 1
    var rows: [CrossoverRow] = []
    for batch in batches {
        var x = [Float](repeating: 0, count: batch * widest)
        for i in x.indices { x[i] = Float((i * 2_654_435_761) % 1000) / 500 - 1 }
        var y = [Float](repeating: 0, count: batch * widest)
        func time(limit: Int) -> Double {
            linear.smallBatchLimit = limit
            linear.floatSmallBatchLimit = limit
            var samples: [Double] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                for w in matrices { linear.matmul(w, x, &y, batch: batch) }
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
            }
            return samples.sorted()[samples.count / 2]
        }
        _ = time(limit: Int.max)  // warm caches and scratch
        rows.append(CrossoverRow(batch: batch, inPlaceMicroseconds: time(limit: Int.max), gemmMicroseconds: time(limit: 0)))
    }
    return rows
}

/// The crossover as a table, with the first batch size where SGEMM wins.
public func crossoverTable(_ rows: [CrossoverRow]) -> String {
    var lines = ["batch   in place µs   SGEMM µs   faster"]
    for r in rows {
        lines.append(
            String(r.batch).leftPadded(5) + String(format: "%14.0f", r.inPlaceMicroseconds)
                + String(format: "%11.0f", r.gemmMicroseconds) + "   " + (r.inPlaceMicroseconds <= r.gemmMicroseconds ? "in place" : "SGEMM"))
    }
    if let first = rows.first(where: { $0.gemmMicroseconds < $0.inPlaceMicroseconds }) {
        lines.append("SGEMM wins from batch \(first.batch) on; the engine switches above \(Linear.defaultSmallBatchLimit) rows (\(Linear.defaultFloatSmallBatchLimit) for F16, BF16 and F32 weights)")
    } else {
        lines.append("the in-place path won at every batch size measured")
    }
    return lines.joined(separator: "\n")
}
