import Foundation

/// A small, seedable, reproducible generator (Steele, Lea & Flood's SplitMix64) for test inputs.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform float in [-scale, scale).
    public mutating func float(scale: Float = 1) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)  // [0, 1) with 24 bits
        return (unit * 2 - 1) * scale
    }

    /// `count` uniform floats in [-scale, scale).
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in float(scale: scale) }
    }

    /// An approximately standard normal float (Box–Muller).
    public mutating func gaussian() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

