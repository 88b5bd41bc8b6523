import Foundation

/// Element-wise and row-wise operations of the LLaMA block. Shapes are in the doc comments;
/// all matrices are row-major. These are cheap next to the matrix products, but they run on
/// every token, so they avoid allocation and keep independent accumulators.
public enum Ops {
    /// out[t, :] = x[t, :] / rms(x[t, :]) * weight. x, out: (rows, n); weight: (n,). In place allowed.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        rows: Int, n: Int, epsilon: Float
    ) {
        for t in 0..<rows {
            let row = x + t * n
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var i = 0
            while i + 4 <= n {
                s0 += row[i] * row[i]
                s1 += row[i + 1] * row[i + 1]
                s2 += row[i + 2] * row[i + 2]
                s3 += row[i + 3] * row[i + 3]
                i += 4
            }
            while i < n {
                s0 += row[i] * row[i]
                i += 1
            }
            let scale = 1 / ((s0 + s1 + s2 + s3) / Float(n) + epsilon).squareRoot()
            let dst = out + t * n
            for j in 0..<n { dst[j] = row[j] * scale * weight[j] }
        }
    }

    /// x += y, both (count,).
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// gate = silu(gate) * up, both (count,). silu(z) = z / (1 + e^(−z)).
    public static func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// Numerically stable softmax of x (count,) in place.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var m = -Float.infinity
        for i in 0..<count { m = max(m, x[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - m)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { x[i] *= inv }
    }
}
