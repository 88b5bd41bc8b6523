import Foundation

/// Rotary position embedding: which dimensions form a rotating pair, and their frequencies.
public struct Rope: Sendable, Equatable {
    public enum Layout: String, Sendable, Codable {
        /// (x[2i], x[2i+1]) rotate together: GGUF LLaMA files ("normal" RoPE).
        case adjacentPairs
        /// (x[i], x[i + d/2]) rotate together: Hugging Face checkpoints ("rotate half", NeoX).
        case halves
    }

    public let dimensions: Int
    public let layout: Layout
    /// θ_i for i in 0..<dimensions/2, already divided by any scaling.
    public let inverseFrequencies: [Float]

    /// - Parameters:
    ///   - dimensions: rotated dimensions per head (even).
    ///   - base: frequency base (10000 for LLaMA 2, 100000 for SmolLM2, 500000 for LLaMA 3).
    ///   - linearScale: positions are divided by this factor (linear RoPE scaling); 1 for none.
    ///   - frequencyFactors: optional per-pair divisors (LLaMA 3.1's `rope_freqs`).
    public init(dimensions: Int, base: Double, layout: Layout, linearScale: Double = 1, frequencyFactors: [Float]? = nil) {
        self.dimensions = dimensions
        self.layout = layout
        inverseFrequencies = (0..<dimensions / 2).map { i in
            var f = pow(base, -2 * Double(i) / Double(dimensions)) / linearScale
            if let factors = frequencyFactors, i < factors.count { f /= Double(factors[i]) }
            return Float(f)
        }
    }

    /// Per-pair frequency divisors of LLaMA 3.1's RoPE scaling: high frequencies unchanged, low
    /// ones divided by `factor`, a smooth blend between (reference: the Llama 3.1 model card's
    /// `apply_scaling`).
    public static func llama3Factors(
        dimensions: Int, base: Double, factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double,
        originalContext: Double
    ) -> [Float] {
        let lowWavelength = originalContext / lowFrequencyFactor
        let highWavelength = originalContext / highFrequencyFactor
        return (0..<dimensions / 2).map { i in
            let frequency = pow(base, -2 * Double(i) / Double(dimensions))
            let wavelength = 2 * Double.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = (originalContext / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor)
            let scaled = (1 - smooth) * frequency / factor + smooth * frequency
            return Float(frequency / scaled)
        }
    }

    /// cos/sin table for `positions`: (positions.count, dimensions/2) each.
    public func table(positions: [Int]) -> (cos: [Float], sin: [Float]) {
        let half = dimensions / 2
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = [Float](repeating: 0, count: positions.count * half)
        for (t, p) in positions.enumerated() {
            for i in 0..<half {
                // Angle in double: float products lose precision at long positions.
                let angle = Double(p) * Double(inverseFrequencies[i])
                c[t * half + i] = Float(cos(angle))
                s[t * half + i] = Float(sin(angle))
            }
        }
        return (c, s)
    }

    /// Rotates each head of x in place. x: (rows, heads * headDim); cos, sin: (rows, dimensions/2).
    public func apply(
        _ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let half = dimensions / 2
        for t in 0..<rows {
            let c = cos + t * half
            let s = sin + t * half
            for h in 0..<heads {
                let v = x + t * heads * headDim + h * headDim
                for i in 0..<half {
                    let (a, b) = layout == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + half)
                    let x0 = v[a]
                    let x1 = v[b]
                    v[a] = x0 * c[i] - x1 * s[i]
                    v[b] = x0 * s[i] + x1 * c[i]
                }
            }
        }
    }
}
