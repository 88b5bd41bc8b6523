/// Scratch memory reused across calls: grows when a call needs more, never shrinks, and does not
/// keep its contents when it grows. Owned by one model; not shared between threads.
final class GrowableBuffer<S: TrainScalar> {
    private(set) var pointer: UnsafeMutablePointer<S>
    private(set) var capacity: Int

    init() {
        capacity = 1
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: 0)
    }

    deinit { pointer.deallocate() }

    /// Room for at least `count` values.
    func ensure(_ count: Int) -> UnsafeMutablePointer<S> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
        }
        return pointer
    }

    /// Room for `count` values, all zero.
    func zeroed(_ count: Int) -> UnsafeMutablePointer<S> {
        let p = ensure(count)
        p.update(repeating: 0, count: count)
        return p
    }
}

/// Activations and scratch of the forward and backward passes, sized for the largest batch seen.
final class TrainingWorkspace<S: TrainScalar> {
    /// What one block's backward pass reads, saved by its forward pass.
    final class Layer {
        let input = GrowableBuffer<S>()  // (T, d) residual stream entering the block
        let norm1 = GrowableBuffer<S>()  // (T, d) attention RMSNorm output
        let inverseRMS1 = GrowableBuffer<S>()  // (T,)
        let query = GrowableBuffer<S>()  // (T, qd) after RoPE
        let key = GrowableBuffer<S>()  // (T, kvd) after RoPE
        let value = GrowableBuffer<S>()  // (T, kvd)
        let probabilities = GrowableBuffer<S>()  // heads · Σ L²
        let attention = GrowableBuffer<S>()  // (T, qd) attention output before Wo
        let middle = GrowableBuffer<S>()  // (T, d) residual stream after attention
        let norm2 = GrowableBuffer<S>()  // (T, d) FFN RMSNorm output
        let inverseRMS2 = GrowableBuffer<S>()  // (T,)
        let gate = GrowableBuffer<S>()  // (T, ff) before SiLU
        let up = GrowableBuffer<S>()  // (T, ff)
        let hidden = GrowableBuffer<S>()  // (T, ff) silu(gate) ⊙ up
    }

    private(set) var layers: [Layer] = []

    let residual = GrowableBuffer<S>()  // (T, d) running residual stream
    let residualGradient = GrowableBuffer<S>()  // (T, d)
    let normGradient = GrowableBuffer<S>()  // (T, d)
    let attentionGradient = GrowableBuffer<S>()  // (T, qd)
    let queryGradient = GrowableBuffer<S>()  // (T, qd)
    let keyGradient = GrowableBuffer<S>()  // (T, kvd)
    let valueGradient = GrowableBuffer<S>()  // (T, kvd)
    let hiddenGradient = GrowableBuffer<S>()  // (T, ff), then the up gradient in place
    let gateGradient = GrowableBuffer<S>()  // (T, ff)
    let attentionScratch = GrowableBuffer<S>()  // (L, L) for the longest sequence
    let exitHidden = GrowableBuffer<S>()  // (R, d) gathered exit states, exit-major, R = exits · M
    let exitNorm = GrowableBuffer<S>()  // (R, d) after the final RMSNorm
    let exitInverseRMS = GrowableBuffer<S>()  // (R,)
    let exitNormGradient = GrowableBuffer<S>()  // (R, d)
    let exitHiddenGradient = GrowableBuffer<S>()  // (R, d)
    let logits = GrowableBuffer<S>()  // (chunk, vocabulary)
    let rowLosses = GrowableBuffer<S>()  // (chunk,)

    /// The saved activations of block `l`.
    func layer(_ l: Int) -> Layer {
        while layers.count <= l { layers.append(Layer()) }
        return layers[l]
    }
}
