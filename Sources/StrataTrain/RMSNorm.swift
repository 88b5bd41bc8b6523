/// RMSNorm with a weight, y = x · r · w where r = 1 / sqrt(mean(x²) + ε) per row — the same
/// formula as the inference `Ops.rmsNorm`.
public enum RMSNorm {
    /// x, y: (rows, n); weight: (n,); inverseRMS: (rows,) receives r for the backward pass.
    /// y may alias x.
    @inlinable
    public static func forward<S: TrainScalar>(
        _ x: UnsafePointer<S>, weight: UnsafePointer<S>, into y: UnsafeMutablePointer<S>,
        inverseRMS: UnsafeMutablePointer<S>, rows: Int, n: Int, epsilon: S
    ) {
        for t in 0..<rows {
            let row = x + t * n
            var sum: S = 0
            for j in 0..<n { sum += row[j] * row[j] }
            let r = 1 / (sum / S(n) + epsilon).squareRoot()
            inverseRMS[t] = r
            let out = y + t * n
            for j in 0..<n { out[j] = row[j] * r * weight[j] }
        }
    }

    /// With g = dy ⊙ w and s = Σⱼ gⱼ xⱼ: dxⱼ = r gⱼ − r³ s xⱼ / n, and dwⱼ += Σₜ dyₜⱼ xₜⱼ rₜ.
    /// - Parameters:
    ///   - dy: (rows, n) gradient of y.
    ///   - x: (rows, n) the forward input; inverseRMS: (rows,) saved by `forward`.
    ///   - dx: (rows, n) written, or added to with `accumulate`. Must not alias dy.
    ///   - dweight: (n,) added to.
    @inlinable
    public static func backward<S: TrainScalar>(
        outputGradient dy: UnsafePointer<S>, input x: UnsafePointer<S>, weight: UnsafePointer<S>,
        inverseRMS: UnsafePointer<S>, inputGradient dx: UnsafeMutablePointer<S>,
        weightGradient dweight: UnsafeMutablePointer<S>, rows: Int, n: Int, accumulate: Bool
    ) {
        for t in 0..<rows {
            let xr = x + t * n
            let dyr = dy + t * n
            let r = inverseRMS[t]
            var s: S = 0
            for j in 0..<n {
                s += dyr[j] * weight[j] * xr[j]
                dweight[j] += dyr[j] * xr[j] * r
            }
            let c = r * r * r * s / S(n)
            let out = dx + t * n
            if accumulate {
                for j in 0..<n { out[j] += r * dyr[j] * weight[j] - c * xr[j] }
            } else {
                for j in 0..<n { out[j] = r * dyr[j] * weight[j] - c * xr[j] }
            }
        }
    }
}
