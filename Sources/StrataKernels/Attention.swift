import CStrataBLAS
import CStrataKernels

/// Causal grouped-query attention of a run of new positions against a KV cache.
///
/// The `count` query rows are positions `start ..< start + count`; the cache already holds keys
/// and values for positions `0 ..< start + count` (the new ones included). Query head h reads KV
/// head h / (heads / kvHeads).
public struct AttentionShape: Sendable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int

    public init(heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }
}

/// How a KV cache stores keys and values: f32, or IEEE half (half the bytes to hold and to
/// stream per step; the attention arithmetic stays f32).
public enum KVCacheType: String, Sendable, CaseIterable {
    case f32, f16

    /// Bytes per element.
    public var bytes: Int { self == .f32 ? 4 : 2 }

    /// Writes `count` floats at `destination` in this type (rounding to nearest even for f16).
    public func store(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutableRawPointer) {
        switch self {
        case .f32: destination.assumingMemoryBound(to: Float.self).update(from: source, count: count)
        case .f16: st_f32_to_f16(source, destination.assumingMemoryBound(to: UInt16.self), Int64(count))
        }
    }
}

public final class Attention: @unchecked Sendable {
    // SAFETY: each pool thread uses only `scratch[thread]`; `widened` is used by the calling
    // thread before the pool runs.
    private let pool: ComputePool
    private let scratch: [ScratchBuffer]
    private let widened = ScratchBuffer()

    public init(pool: ComputePool) {
        self.pool = pool
        scratch = (0..<pool.threadCount).map { _ in ScratchBuffer() }
    }

    /// Query rows up to this count use the fused kernel (one pass over the cache per call);
    /// longer runs (prompt processing) use two SGEMMs per head.
    public static let fusedLimit = 32

    /// - Parameters:
    ///   - q: (count, heads * headDim), RoPE applied.
    ///   - keys, values: (≥ start + count, kvHeads * headDim) cache rows, position-major, of `type`.
    ///   - out: (count, heads * headDim).
    public func run(
        shape: AttentionShape, q: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer,
        type: KVCacheType = .f32, out: UnsafeMutablePointer<Float>, start: Int, count: Int
    ) {
        if count <= Self.fusedLimit {
            fused(shape: shape, q: q, keys: keys, values: values, type: type, out: out, start: start, count: count)
        } else if type == .f32 {
            blas(
                shape: shape, q: q, keys: keys.assumingMemoryBound(to: Float.self), values: values.assumingMemoryBound(to: Float.self),
                out: out, start: start, count: count)
        } else {
            // Long runs (prompt chunks) widen the visible halves once and use the f32 products.
            let n = (start + count) * shape.kvHeads * shape.headDim
            let k = widened.floats(2 * n)
            st_f16_to_f32(keys.assumingMemoryBound(to: UInt16.self), k, Int64(n))
            st_f16_to_f32(values.assumingMemoryBound(to: UInt16.self), k + n, Int64(n))
            blas(shape: shape, q: q, keys: k, values: k + n, out: out, start: start, count: count)
        }
    }

    /// The C kernel, heads split into one contiguous range per thread (whole KV groups where
    /// the counts allow, so each thread streams its own keys and values).
    private func fused(
        shape: AttentionShape, q: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, type: KVCacheType,
        out: UnsafeMutablePointer<Float>, start: Int, count: Int
    ) {
        let hd = shape.headDim
        let tasks = min(pool.threadCount, shape.heads)
        let scratch = self.scratch
        let length = start + count
        pool.run(tasks: tasks) { t, thread in
            let h0 = shape.heads * t / tasks
            let h1 = shape.heads * (t + 1) / tasks
            let buffer = scratch[thread].floats(length)
            let sizes = (Int64(start), Int64(count), Int64(shape.heads), Int64(shape.kvHeads), Int64(hd))
            let strides = (Int64(shape.heads * hd), Int64(shape.kvHeads * hd))
            switch type {
            case .f32:
                _ = st_attention_f32(
                    q, keys.assumingMemoryBound(to: Float.self), values.assumingMemoryBound(to: Float.self), out, buffer,
                    sizes.0, sizes.1, sizes.2, sizes.3, sizes.4, strides.0, strides.1, Int64(h0), Int64(h1))
            case .f16:
                _ = st_attention_f16(
                    q, keys.assumingMemoryBound(to: UInt16.self), values.assumingMemoryBound(to: UInt16.self), out, buffer,
                    sizes.0, sizes.1, sizes.2, sizes.3, sizes.4, strides.0, strides.1, Int64(h0), Int64(h1))
            }
        }
    }

    private func blas(
        shape: AttentionShape, q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, start: Int, count: Int
    ) {
        let hd = shape.headDim
        let qStride = shape.heads * hd
        let kvStride = shape.kvHeads * hd
        let group = shape.heads / shape.kvHeads
        let length = start + count
        let scale = 1 / Float(hd).squareRoot()
        let scratch = self.scratch
        pool.run(tasks: shape.heads) { h, thread in
            let kvh = h / group
            let scores = scratch[thread].floats(count * length)  // (count, length)
            // S = scale · Q_h (count×hd) · K_kvhᵀ (hd×length)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(length), Int32(hd), scale,
                q + h * hd, Int32(qStride), keys + kvh * hd, Int32(kvStride), 0, scores, Int32(length))
            for i in 0..<count {
                let visible = start + i + 1  // causal: position start+i sees 0...start+i
                let row = scores + i * length
                Ops.softmax(row, count: visible)
                for j in visible..<length { row[j] = 0 }
            }
            // O_h (count×hd) = S (count×length) · V_kvh (length×hd)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(hd), Int32(length), 1,
                scores, Int32(length), values + kvh * hd, Int32(kvStride), 0, out + h * hd, Int32(qStride))
        }
    }
}
