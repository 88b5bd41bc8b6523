import CStrataBLAS
import CStrataKernels
import StrataFormats

/// Matrix products against `WeightMatrix` on a `ComputePool`: y = W·x for one or many inputs.
///
/// Three paths, chosen by batch size:
/// - one to `smallBatchLimit` inputs: activations quantised to the weight format's dot type and
///   integer/SIMD dot products over the weight rows in place (memory-bound; each weight block
///   is read once for the whole batch);
/// - larger batches: weight tiles dequantised into per-thread scratch, then OpenBLAS SGEMM
///   (compute-bound);
/// - `exact` mode: f32 activations throughout, for tests and golden comparisons.
///
/// SAFETY (`@unchecked Sendable`): per-thread scratch is touched only by the pool thread whose
/// index it carries; `activationScratch` only by the caller inside a `run`, which is serialised.
public final class Linear: @unchecked Sendable {
    public let pool: ComputePool
    /// Batches up to this size use the in-place quantised path; larger ones use SGEMM.
    public var smallBatchLimit: Int
    /// Use f32 activations (no 8-bit rounding of inputs) on the in-place path.
    public var exact: Bool
    /// Weight rows dequantised per SGEMM tile.
    public var tileRows = 64

    private let threadScratch: [ScratchBuffer]
    private let activationScratch = ScratchBuffer()

    public init(pool: ComputePool, smallBatchLimit: Int = 8, exact: Bool = false) {
        self.pool = pool
        self.smallBatchLimit = smallBatchLimit
        self.exact = exact
        threadScratch = (0..<pool.threadCount).map { _ in ScratchBuffer() }
        // Strata splits work itself; OpenBLAS's own threads would fight the pool for cores.
        openblas_set_num_threads(1)
    }

    /// y = W·x. x: (columns,), y: (rows,).
    public func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        matmul(w, x, y, batch: 1)
    }

    /// Y = X·Wᵀ. x: (batch, columns) row-major, y: (batch, rows) row-major.
    public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int) {
        guard batch > 0 else { return }
        if batch > smallBatchLimit && w.rows >= tileRows {
            gemmPath(w, x, y, batch: batch)
        } else if exact {
            exactPath(w, x, y, batch: batch)
        } else {
            quantizedPath(w, x, y, batch: batch)
        }
    }

    // MARK: - Paths

    private func exactPath(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int) {
        let type = Int32(w.type.rawValue)
        let n = Int64(w.columns)
        pool.parallelFor(w.rows, grain: 8) { range, _ in
            for b in 0..<batch {
                _ = st_matvec_f32(
                    type, w.base, w.rowStride, x + b * w.columns, y + b * w.rows, n, Int64(range.lowerBound),
                    Int64(range.upperBound))
            }
        }
    }

    private func quantizedPath(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int) {
        let type = Int32(w.type.rawValue)
        let n = Int64(w.columns)
        let stride = st_vec_bytes(type, n)
        let xq = activationScratch.reserve(stride * batch)
        for b in 0..<batch {
            _ = st_vec_quantize(type, x + b * w.columns, xq + b * stride, n)
        }
        let xqConst = UnsafeRawPointer(xq)
        pool.parallelFor(w.rows, grain: 8) { range, _ in
            _ = st_matmul_q(
                type, w.base, w.rowStride, xqConst, stride, y, Int64(w.rows), n, Int64(batch),
                Int64(range.lowerBound), Int64(range.upperBound))
        }
    }

    private func gemmPath(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int) {
        let n = w.columns
        let rows = w.rows
        let tile = tileRows
        let tiles = (rows + tile - 1) / tile
        let scratch = threadScratch
        pool.run(tasks: tiles) { t, thread in
            let r0 = t * tile
            let count = min(tile, rows - r0)
            let weights: UnsafePointer<Float>
            if w.type == .f32 {
                weights = (w.base + r0 * w.rowStride).assumingMemoryBound(to: Float.self)
            } else {
                let buffer = scratch[thread].floats(count * n)
                for r in 0..<count { w.dequantizeRow(r0 + r, into: buffer + r * n) }
                weights = UnsafePointer(buffer)
            }
            // Y[:, r0..<r0+count] = X (batch×n) · tileᵀ (n×count)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(count), Int32(n), 1, x, Int32(n),
                weights, Int32(n), 0, y + r0, Int32(rows))
        }
    }
}
