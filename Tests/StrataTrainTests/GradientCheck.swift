import StrataTestSupport

/// Central finite differences: (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for each i in `indices`.
/// `x` is restored before returning.
func numericalGradient(
    at x: inout [Double], indices: [Int], step h: Double = 1e-5, _ f: ([Double]) -> Double
) -> [Double] {
    indices.map { i in
        let saved = x[i]
        x[i] = saved + h
        let plus = f(x)
        x[i] = saved - h
        let minus = f(x)
        x[i] = saved
        return (plus - minus) / (2 * h)
    }
}

/// Finite differences through a pointer (model parameters): perturbs `p[i]`, calls `f`, restores.
func numericalGradient(
    at p: UnsafeMutablePointer<Double>, indices: [Int], step h: Double = 1e-5, _ f: () -> Double
) -> [Double] {
    indices.map { i in
        let saved = p[i]
        p[i] = saved + h
        let plus = f()
        p[i] = saved - h
        let minus = f()
        p[i] = saved
        return (plus - minus) / (2 * h)
    }
}

/// ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂): the norm-wise relative error (0 when both are zero).
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "compared gradients differ in length")
    var diff = 0.0, na = 0.0, nb = 0.0
    for i in a.indices {
        diff += (a[i] - b[i]) * (a[i] - b[i])
        na += a[i] * a[i]
        nb += b[i] * b[i]
    }
    let scale = max(na, nb).squareRoot()
    return scale == 0 ? 0 : diff.squareRoot() / scale
}

/// `count` seeded uniform values in ±scale, as Double.
func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return rng.floats(count, scale: scale).map(Double.init)
}
