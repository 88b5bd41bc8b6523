import Foundation
import CStrataBLAS
import CStrataKernels
import StrataFormats

/// Matrix products against `WeightMatrix` on a `ComputePool`: y = W·x for one or many inputs.
///
/// Three paths, chosen by batch size:
/// - one to `smallBatchLimit` inputs (`floatSmallBatchLimit` for F16, BF16 and F32 weights):
///   activations quantised to the weight format's dot type and integer/SIMD dot products over
///   the weight rows in place (memory-bound; each weight block is read once for the whole batch);
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
    /// The same limit for float weights (F16, BF16, F32), whose in-place path multiplies in
    /// floating point and so loses to SGEMM much sooner.
    public var floatSmallBatchLimit: Int
    /// Use f32 activations (no 8-bit rounding of inputs) on the in-place path.
    public var exact: Bool
    /// Weight rows dequantised per SGEMM tile.
    public var tileRows = 64

    private let threadScratch: [ScratchBuffer]
    private let activationScratch = ScratchBuffer()

    /// Batches up to this many rows read weights in place; larger ones go through SGEMM. Measured
    /// with `strata bench --crossover` (docs/PERFORMANCE.md): with the integer kernels the
    /// in-place path won at every batch size up to 512 rows, so prompt chunks (≤ 512) stay on it
    /// and SGEMM is for larger batches. `STRATA_GEMM_MIN_ROWS` overrides it for other machines.
    public static let defaultSmallBatchLimit: Int = {
        if let text = ProcessInfo.processInfo.environment["STRATA_GEMM_MIN_ROWS"], let rows = Int(text), rows > 0 {
            return rows - 1
        }
        return 512
    }()

    /// The limit for float weights. `strata bench --crossover` on SmolLM2 converted to F16 (2
    /// threads, one block's seven products): in place 1.0 ms against SGEMM 1.1 ms at 16 rows,
    /// 2.0 against 1.7 at 32, 37 against 19 at 512. `STRATA_GEMM_MIN_ROWS_FLOAT` overrides it.
    public static let defaultFloatSmallBatchLimit: Int = {
        if let text = ProcessInfo.processInfo.environment["STRATA_GEMM_MIN_ROWS_FLOAT"], let rows = Int(text), rows > 0 {
            return rows - 1
        }
        return 24
    }()

    /// Whether a batch of `batch` inputs against `type` weights goes through SGEMM.
    public func usesSGEMM(batch: Int, type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16: batch > floatSmallBatchLimit
        default: batch > smallBatchLimit
        }
    }

    public init(
        pool: ComputePool, smallBatchLimit: Int = Linear.defaultSmallBatchLimit,
        floatSmallBatchLimit: Int = Linear.defaultFloatSmallBatchLimit, exact: Bool = false
    ) {
        self.pool = pool
        self.smallBatchLimit = smallBatchLimit
        self.floatSmallBatchLimit = floatSmallBatchLimit
        self.exact = exact
        threadScratch = (0..<pool.threadCount).map { _ in ScratchBuffer() }
        // Strata splits work itself; OpenBLAS's own threads would fight the pool for cores.
        openblas_set_num_threads(1)
    }

    /// One product: a weight matrix and where its output goes.
    public typealias Product = (WeightMatrix, UnsafeMutablePointer<Float>)
    private typealias Products = UnsafeBufferPointer<Product>

    /// y = W·x. x: (columns,), y: (rows,).
    public func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        matmul(w, x, y, batch: 1)
    }

    /// Y = X·Wᵀ. x: (batch, columns) row-major, y: (batch, rows) row-major.
    public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int) {
        // On the stack: a kernel call allocates nothing on the heap.
        withUnsafeTemporaryAllocation(of: Product.self, capacity: 1) { one in
            _ = one.initialize(from: CollectionOfOne((w, y)))
            run(Products(one), x, batch: batch)
            one.deinitialize()
        }
    }

    /// Several products of one input, in one pass over the pool: Y_i = X·W_iᵀ for each
    /// (W_i, Y_i). x: (batch, columns); each y_i: (batch, rows_i). Sharing the pass quantises X
    /// once and synchronises the threads once (Q, K and V; gate and up).
    public func matmul(_ products: [Product], _ x: UnsafePointer<Float>, batch: Int) {
        products.withUnsafeBufferPointer { run($0, x, batch: batch) }
    }

    private func run(_ products: Products, _ x: UnsafePointer<Float>, batch: Int) {
        guard batch > 0, let first = products.first else { return }
        precondition(products.allSatisfy { $0.0.columns == first.0.columns }, "products must share the input width")
        if usesSGEMM(batch: batch, type: first.0.type) {
            gemmPath(products, x, batch: batch)
        } else {
            inPlacePath(products, x, batch: batch)
        }
    }

    // MARK: - Paths

    /// Weight rows read in place: quantised activations (or f32 ones in exact mode).
    private func inPlacePath(_ products: Products, _ x: UnsafePointer<Float>, batch: Int) {
        let n = first(products).columns
        if exact {
            forEachRowChunk(products) { index, range in
                let (w, y) = products[index]
                for b in 0..<batch {
                    _ = st_matvec_f32(
                        Int32(w.type.rawValue), w.base, w.rowStride, x + b * n, y + b * w.rows, Int64(n),
                        Int64(range.lowerBound), Int64(range.upperBound))
                }
            }
            return
        }
        // Activations quantised once per distinct dot format: product i reads (batch, stride)
        // at its offset; the first product of each format quantises them.
        withUnsafeTemporaryAllocation(of: (offset: Int, stride: Int, owner: Bool).self, capacity: products.count) { layout in
            var total = 0
            for (i, (w, _)) in products.enumerated() {
                let type = Int32(w.type.rawValue)
                let stride = st_vec_bytes(type, Int64(n))
                if let j = (0..<i).first(where: { st_vec_dot_type(Int32(products[$0].0.type.rawValue)) == st_vec_dot_type(type) }) {
                    layout[i] = (layout[j].offset, layout[j].stride, false)
                } else {
                    layout[i] = (total, stride, true)
                    total += stride * batch
                }
            }
            let buffer = activationScratch.reserve(total)
            for (i, (w, _)) in products.enumerated() where layout[i].owner {
                for b in 0..<batch {
                    _ = st_vec_quantize(
                        Int32(w.type.rawValue), x + b * n, buffer + layout[i].offset + b * layout[i].stride, Int64(n))
                }
            }
            let activations = UnsafeRawPointer(buffer)
            forEachRowChunk(products) { index, range in
                let (w, y) = products[index]
                _ = st_matmul_q(
                    Int32(w.type.rawValue), w.base, w.rowStride, activations + layout[index].offset, layout[index].stride, y,
                    Int64(w.rows), Int64(n), Int64(batch), Int64(range.lowerBound), Int64(range.upperBound))
            }
        }
    }

    /// Splits the products' rows, taken end to end, into about `threadCount × 4` chunks of
    /// whole multiples of 4 rows, and runs `body(product index, local row range)` for each.
    private func forEachRowChunk(_ products: Products, _ body: (Int, Range<Int>) -> Void) {
        let totalRows = products.reduce(0) { $0 + $1.0.rows }
        let chunks = max(1, min(pool.threadCount == 1 ? 1 : pool.threadCount * 4, totalRows / 4))
        pool.run(tasks: chunks) { task, _ in
            var start = totalRows * task / chunks / 4 * 4
            let end = task == chunks - 1 ? totalRows : totalRows * (task + 1) / chunks / 4 * 4
            var base = 0
            for (index, product) in products.enumerated() where start < end {
                let rows = product.0.rows
                if start < base + rows {
                    let localEnd = min(end, base + rows) - base
                    body(index, (start - base)..<localEnd)
                    start = base + localEnd
                }
                base += rows
            }
        }
    }

    private func first(_ products: Products) -> WeightMatrix {
        products[0].0
    }

    /// Weight tiles dequantised into per-thread scratch, then single-threaded SGEMM per tile.
    private func gemmPath(_ products: Products, _ x: UnsafePointer<Float>, batch: Int) {
        let n = first(products).columns
        let tile = tileRows
        // Tiles are numbered through the products end to end.
        let tileCount = products.reduce(0) { $0 + ($1.0.rows + tile - 1) / tile }
        let scratch = threadScratch
        pool.run(tasks: tileCount) { t, thread in
            var index = 0
            var first = 0  // number of the product's first tile
            while t >= first + (products[index].0.rows + tile - 1) / tile {
                first += (products[index].0.rows + tile - 1) / tile
                index += 1
            }
            let r0 = (t - first) * tile
            let (w, y) = products[index]
            let count = min(tile, w.rows - r0)
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
                weights, Int32(n), 0, y + r0, Int32(w.rows))
        }
    }
}
