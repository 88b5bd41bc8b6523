import Foundation

/// AdamW with decoupled weight decay (reference: Loshchilov & Hutter 2019; PyTorch's `AdamW`):
///
/// ```
/// θ ← θ − lr·λ·θ                      (matrices only; never norm weights)
/// m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
/// θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
/// ```
/// The moments have the parameter buffer's layout; `stepCount` is t, the number of updates made.
public final class AdamW {
    /// The coefficients of the update (PyTorch's defaults; no weight decay unless set).
    public struct Hyperparameters: Sendable, Equatable, Codable {
        /// Decay of the first moment.
        public var beta1: Double
        /// Decay of the second moment.
        public var beta2: Double
        /// Added to the root of the second moment.
        public var epsilon: Double
        /// Decoupled weight decay λ (matrices only).
        public var weightDecay: Double

        /// Hyperparameters; the defaults are PyTorch's.
        public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    /// The coefficients this optimizer was made with.
    public let hyperparameters: Hyperparameters
    /// (count,) first and second moments.
    public let firstMoment: UnsafeMutableBufferPointer<Float>
    /// (count,) the second moment.
    public let secondMoment: UnsafeMutableBufferPointer<Float>
    /// Updates made so far.
    public var stepCount = 0

    private let m: UnsafeMutablePointer<Float>
    private let v: UnsafeMutablePointer<Float>

    /// Copies of both moments.
    public func momentValues() -> (first: [Float], second: [Float]) {
        (Array(firstMoment), Array(secondMoment))
    }

    /// Zero moments for `count` parameters.
    public init(count: Int, hyperparameters: Hyperparameters) {
        self.hyperparameters = hyperparameters
        m = .allocate(capacity: max(count, 1))
        m.initialize(repeating: 0, count: max(count, 1))
        v = .allocate(capacity: max(count, 1))
        v.initialize(repeating: 0, count: max(count, 1))
        firstMoment = UnsafeMutableBufferPointer(start: m, count: count)
        secondMoment = UnsafeMutableBufferPointer(start: v, count: count)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }

    /// One update of the parameters in `ranges`, with their gradients.
    /// - Parameters:
    ///   - parameters, gradients: (count,) buffers in the moments' layout.
    ///   - ranges: the spans to update, each with whether weight decay applies to it.
    ///   - learningRate: this step's rate.
    public func update(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
        ranges: [(range: Range<Int>, decays: Bool)], learningRate: Double
    ) {
        stepCount += 1
        let h = hyperparameters
        let t = Double(stepCount)
        let b1 = Float(h.beta1), b2 = Float(h.beta2)
        let c1 = Float(1 / (1 - pow(h.beta1, t)))
        let c2 = Float(1 / (1 - pow(h.beta2, t)))
        let lr = Float(learningRate)
        let eps = Float(h.epsilon)
        let decay = Float(1 - learningRate * h.weightDecay)
        let shared = Shared((parameters, gradients, m, v))
        for (range, decays) in ranges {
            let keep: Float = decays ? decay : 1
            Parallel.chunks(range.count, minimumChunk: 1 << 16) { _, chunk in
                let (parameters, gradients, m, v) = shared.value
                for i in (range.lowerBound + chunk.lowerBound)..<(range.lowerBound + chunk.upperBound) {
                    let g = gradients[i]
                    let mi = b1 * m[i] + (1 - b1) * g
                    let vi = b2 * v[i] + (1 - b2) * g * g
                    m[i] = mi
                    v[i] = vi
                    parameters[i] = parameters[i] * keep - lr * (mi * c1) / ((vi * c2).squareRoot() + eps)
                }
            }
        }
    }
}

/// One optimizer is driven by one thread at a time.
@available(*, unavailable) extension AdamW: Sendable {}
