import CStrataBLAS
import Foundation
import Synchronization

/// The scalar a trainable model computes in: `Float` for training (OpenBLAS SGEMM) and `Double`
/// for gradient checks (DGEMM). Every op and the model are generic over it, so the code the
/// gradient checks verify is the code that trains.
public protocol TrainScalar: BinaryFloatingPoint, Sendable {
    /// C (m, n) = alpha · op(A) · op(B) + beta · C, all row-major. op(A) is (m, k) and op(B) is
    /// (k, n); `transA`/`transB` say A is stored as (k, m) / B as (n, k).
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// e^x.
    static func exponential(_ x: Self) -> Self
    /// ln x.
    static func logarithm(_ x: Self) -> Self
    /// The checkpoint/export name of the type ("f32", "f64").
    static var typeName: String { get }
}

extension Float: TrainScalar {
    @inlinable
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else { return scaleRows(c, m: m, n: n, ldc: ldc, by: beta) }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// expf.
    @inlinable public static func exponential(_ x: Float) -> Float { expf(x) }
    /// logf.
    @inlinable public static func logarithm(_ x: Float) -> Float { logf(x) }
    /// "f32".
    public static var typeName: String { "f32" }
}

extension Double: TrainScalar {
    @inlinable
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else { return scaleRows(c, m: m, n: n, ldc: ldc, by: beta) }
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// exp.
    @inlinable public static func exponential(_ x: Double) -> Double { exp(x) }
    /// log.
    @inlinable public static func logarithm(_ x: Double) -> Double { log(x) }
    /// "f64".
    public static var typeName: String { "f64" }
}

/// C = beta · C for an empty inner dimension (BLAS rejects k = 0 with lda = 0).
@usableFromInline
func scaleRows<S: TrainScalar>(_ c: UnsafeMutablePointer<S>, m: Int, n: Int, ldc: Int, by beta: S) {
    for i in 0..<m {
        for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : c[i * ldc + j] * beta }
    }
}

/// How many threads training uses: OpenBLAS's for the products, and as many for the row-parallel
/// loops (cross-entropy, optimizer update, gradient norm).
public enum TrainingThreads {
    private static let configured = Atomic<Int>(1)

    /// The thread count set by ``configure(_:)`` (1 until then).
    public static var count: Int { configured.load(ordering: .relaxed) }

    /// Sets OpenBLAS's thread count for the whole process and the trainer's own loops. Inference
    /// (`StrataKernels.Linear`) sets OpenBLAS to 1 when a model is built, so call this after
    /// building any inference model.
    /// - Parameter count: threads (at least 1).
    public static func configure(_ count: Int) {
        let n = max(1, min(count, 1024))
        configured.store(n, ordering: .relaxed)
        openblas_set_num_threads(Int32(n))
    }
}
