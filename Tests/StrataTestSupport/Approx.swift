/// Relative closeness in the swift-numerics style: |a − b| ≤ max(atol, rtol · max(|a|, |b|)).
public func isApproximatelyEqual(_ a: Double, _ b: Double, rtol: Double, atol: Double = 0) -> Bool {
    if a.isNaN || b.isNaN { return false }
    let scale = max(abs(a), abs(b))
    return abs(a - b) <= max(atol, rtol * scale)
}

/// The largest |a[i] − b[i]| over the vectors, and the index where it occurs.
public func maxAbsDifference<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(_ a: [A], _ b: [B]) -> (Double, Int) {
    precondition(a.count == b.count, "compared vectors differ in length")
    var worst = 0.0
    var at = 0
    for i in a.indices {
        let d = abs(Double(a[i]) - Double(b[i]))
        if d > worst || d.isNaN { worst = d; at = i }
    }
    return (worst, at)
}

/// Vector closeness judged against the reference's scale: every |a[i] − ref[i]| must be within
/// max(atol, rtol · ‖ref‖∞). Element-wise relative error is meaningless for entries near zero
/// in long dot products, so the bound is scaled by the largest reference magnitude.
public func approxEqual<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(
    _ a: [A], _ ref: [B], rtol: Double, atol: Double = 0
) -> Bool {
    guard a.count == ref.count else { return false }
    let scale = ref.reduce(0.0) { max($0, abs(Double($1))) }
    let (worst, _) = maxAbsDifference(a, ref)
    return worst <= max(atol, rtol * scale)
}
