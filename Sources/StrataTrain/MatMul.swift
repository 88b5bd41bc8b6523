/// The linear layer y = x·Wᵀ with its gradients. Weights are stored (out, in) like the
/// inference code's `WeightMatrix`; activations are row-major (rows, features).
public enum MatMul {
    /// y (rows, outputs) = x (rows, inputs) · wᵀ, w: (outputs, inputs).
    /// - Parameter accumulate: add into y instead of overwriting it.
    @inlinable
    public static func forward<S: TrainScalar>(
        _ x: UnsafePointer<S>, weight w: UnsafePointer<S>, into y: UnsafeMutablePointer<S>,
        rows: Int, inputs: Int, outputs: Int, accumulate: Bool = false
    ) {
        S.gemm(
            transA: false, transB: true, m: rows, n: outputs, k: inputs, alpha: 1, a: x, lda: inputs, b: w,
            ldb: inputs, beta: accumulate ? 1 : 0, c: y, ldc: outputs)
    }

    /// dx (rows, inputs) = dy · w, or += with `accumulateInput`; skipped when dx is nil.
    /// dw (outputs, inputs) += dyᵀ · x.
    @inlinable
    public static func backward<S: TrainScalar>(
        outputGradient dy: UnsafePointer<S>, input x: UnsafePointer<S>, weight w: UnsafePointer<S>,
        inputGradient dx: UnsafeMutablePointer<S>?, weightGradient dw: UnsafeMutablePointer<S>,
        rows: Int, inputs: Int, outputs: Int, accumulateInput: Bool = false
    ) {
        if let dx {
            S.gemm(
                transA: false, transB: false, m: rows, n: inputs, k: outputs, alpha: 1, a: dy, lda: outputs, b: w,
                ldb: inputs, beta: accumulateInput ? 1 : 0, c: dx, ldc: inputs)
        }
        S.gemm(
            transA: true, transB: false, m: outputs, n: inputs, k: rows, alpha: 1, a: dy, lda: outputs, b: x,
            ldb: inputs, beta: 1, c: dw, ldc: inputs)
    }
}
