/// The LLaMA feed-forward gate h = silu(g) ⊙ u, silu(z) = z·σ(z).
public enum SwiGLU {
    /// gate, up, out: (count,). out may not alias the inputs (backward needs them).
    @inlinable
    public static func forward<S: TrainScalar>(
        gate: UnsafePointer<S>, up: UnsafePointer<S>, into out: UnsafeMutablePointer<S>, count: Int
    ) {
        for i in 0..<count {
            let g = gate[i]
            out[i] = g / (1 + S.exponential(-g)) * up[i]
        }
    }

    /// dg = dh ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = dh ⊙ silu(g). All (count,).
    /// `upGradient` may alias `outputGradient` (each element is read before it is written).
    @inlinable
    public static func backward<S: TrainScalar>(
        outputGradient dh: UnsafePointer<S>, gate: UnsafePointer<S>, up: UnsafePointer<S>,
        gateGradient dg: UnsafeMutablePointer<S>, upGradient du: UnsafeMutablePointer<S>, count: Int
    ) {
        for i in 0..<count {
            let g = gate[i]
            let sigma = 1 / (1 + S.exponential(-g))
            let d = dh[i]
            dg[i] = d * up[i] * sigma * (1 + g * (1 - sigma))
            du[i] = d * g * sigma
        }
    }
}
