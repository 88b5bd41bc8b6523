/// Heads, KV heads and head width of grouped-query attention: query head h reads KV head
/// h / (heads / kvHeads), as in the inference `Attention`.
public struct AttentionGeometry: Sendable, Equatable {
    /// Query heads.
    public var heads: Int
    /// Key/value heads (dividing `heads`).
    public var kvHeads: Int
    /// Width of each head.
    public var headDim: Int

    /// A geometry of `heads` query heads sharing `kvHeads` KV heads of `headDim`.
    public init(heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    /// heads · headDim: the width of a query row.
    public var queryWidth: Int { heads * headDim }
    /// kvHeads · headDim: the width of a key or value row.
    public var kvWidth: Int { kvHeads * headDim }
    /// Query heads per KV head.
    public var group: Int { heads / kvHeads }
}

/// Causal scaled-dot-product attention over sequences packed into one batch: rows of one
/// sequence attend to earlier rows of the same sequence only, never across sequences.
///
/// Per sequence of L rows and query head h (KV head g): S = Q_h·K_gᵀ/√hd, P = softmax(S) with
/// the causal mask, O_h = P·V_g. P is saved for the backward pass: `probabilityCount` values.
public enum CausalAttention {
    /// Values of P the forward pass saves: heads · Σ L².
    public static func probabilityCount(sequences: [Range<Int>], heads: Int) -> Int {
        sequences.reduce(0) { $0 + $1.count * $1.count } * heads
    }

    /// - Parameters:
    ///   - q: (T, heads·hd) with RoPE applied; k, v: (T, kvHeads·hd).
    ///   - out: (T, heads·hd).
    ///   - probabilities: (probabilityCount,) written: for each sequence, for each head, (L, L).
    ///   - sequences: ranges of rows that partition 0..<T.
    @inlinable
    public static func forward<S: TrainScalar>(
        q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>, into out: UnsafeMutablePointer<S>,
        probabilities: UnsafeMutablePointer<S>, sequences: [Range<Int>], geometry: AttentionGeometry
    ) {
        let hd = geometry.headDim
        let qw = geometry.queryWidth
        let kw = geometry.kvWidth
        let scale = 1 / S(hd).squareRoot()
        var p = probabilities
        for sequence in sequences {
            let L = sequence.count
            let first = sequence.lowerBound
            for h in 0..<geometry.heads {
                let g = h / geometry.group
                let qh = q + first * qw + h * hd
                let kg = k + first * kw + g * hd
                let vg = v + first * kw + g * hd
                // S (L, L) = scale · Q_h (L, hd) · K_gᵀ (hd, L)
                S.gemm(
                    transA: false, transB: true, m: L, n: L, k: hd, alpha: scale, a: qh, lda: qw, b: kg, ldb: kw,
                    beta: 0, c: p, ldc: L)
                for i in 0..<L {
                    let row = p + i * L
                    var m = row[0]
                    for j in 0...i where row[j] > m { m = row[j] }
                    var sum: S = 0
                    for j in 0...i {
                        let e = underflowSafeExponential(row[j] - m)
                        row[j] = e
                        sum += e
                    }
                    let inv = 1 / sum
                    for j in 0...i { row[j] *= inv }
                    for j in (i + 1)..<L { row[j] = 0 }
                }
                // O_h (L, hd) = P (L, L) · V_g (L, hd)
                S.gemm(
                    transA: false, transB: false, m: L, n: hd, k: L, alpha: 1, a: p, lda: L, b: vg, ldb: kw, beta: 0,
                    c: out + first * qw + h * hd, ldc: qw)
                p += L * L
            }
        }
    }

    /// Gradients of q, k and v (all written, not added to).
    /// - Parameters:
    ///   - outputGradient: (T, heads·hd).
    ///   - q, k, v, probabilities: as saved by `forward`.
    ///   - dq: (T, heads·hd); dk, dv: (T, kvHeads·hd).
    ///   - scratch: at least max L² values.
    @inlinable
    public static func backward<S: TrainScalar>(
        outputGradient dout: UnsafePointer<S>, q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
        probabilities: UnsafePointer<S>, queryGradient dq: UnsafeMutablePointer<S>,
        keyGradient dk: UnsafeMutablePointer<S>, valueGradient dv: UnsafeMutablePointer<S>,
        scratch: UnsafeMutablePointer<S>, sequences: [Range<Int>], geometry: AttentionGeometry
    ) {
        let hd = geometry.headDim
        let qw = geometry.queryWidth
        let kw = geometry.kvWidth
        let scale = 1 / S(hd).squareRoot()
        var p = probabilities
        for sequence in sequences {
            let L = sequence.count
            let first = sequence.lowerBound
            (dk + first * kw).update(repeating: 0, count: L * kw)
            (dv + first * kw).update(repeating: 0, count: L * kw)
            for h in 0..<geometry.heads {
                let g = h / geometry.group
                let qh = q + first * qw + h * hd
                let kg = k + first * kw + g * hd
                let vg = v + first * kw + g * hd
                let doh = dout + first * qw + h * hd
                let ds = scratch
                // dP (L, L) = dO_h (L, hd) · V_gᵀ (hd, L)
                S.gemm(
                    transA: false, transB: true, m: L, n: L, k: hd, alpha: 1, a: doh, lda: qw, b: vg, ldb: kw,
                    beta: 0, c: ds, ldc: L)
                // dV_g (L, hd) += Pᵀ (L, L) · dO_h (L, hd)
                S.gemm(
                    transA: true, transB: false, m: L, n: hd, k: L, alpha: 1, a: p, lda: L, b: doh, ldb: qw, beta: 1,
                    c: dv + first * kw + g * hd, ldc: kw)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)); masked entries have P = 0.
                for i in 0..<L {
                    let pr = UnsafePointer(p) + i * L
                    let dr = ds + i * L
                    var dot: S = 0
                    for j in 0...i { dot += pr[j] * dr[j] }
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                    for j in (i + 1)..<L { dr[j] = 0 }
                }
                // dQ_h (L, hd) = scale · dS (L, L) · K_g (L, hd)
                S.gemm(
                    transA: false, transB: false, m: L, n: hd, k: L, alpha: scale, a: ds, lda: L, b: kg, ldb: kw,
                    beta: 0, c: dq + first * qw + h * hd, ldc: qw)
                // dK_g (L, hd) += scale · dSᵀ (L, L) · Q_h (L, hd)
                S.gemm(
                    transA: true, transB: false, m: L, n: hd, k: L, alpha: scale, a: ds, lda: L, b: qh, ldb: qw,
                    beta: 1, c: dk + first * kw + g * hd, ldc: kw)
                p += L * L
            }
        }
    }
}

/// e^x for x ≤ 0, with x below −60 taken as 0.
///
/// Why: e^−88 and below are subnormal in Float, and subnormal entries in P or in the logit
/// gradient slow every product that reads them by an order of magnitude (x86 microcode assists);
/// terms below e^−60 ≈ 9·10⁻²⁷ of the row's maximum change no sum that matters.
@inlinable
func underflowSafeExponential<S: TrainScalar>(_ x: S) -> S {
    x < -60 ? 0 : S.exponential(x)
}
