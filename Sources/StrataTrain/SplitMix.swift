/// SplitMix64 (Steele, Lea & Flood): the seeded generator behind data order and random
/// initialisation. Its own code, not the standard library's, so a seed gives the same order on
/// every toolchain.
public struct SplitMix: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0), without modulo bias (Lemire's multiply-shift with rejection).
    mutating func next(below bound: Int) -> Int {
        let b = UInt64(bound)
        while true {
            let product = next().multipliedFullWidth(by: b)
            if product.low >= (0 &- b) % b { return Int(product.high) }
        }
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Uniform in [-1, 1).
    mutating func symmetricUnit() -> Double {
        Double(next() >> 11) / Double(1 << 52) - 1
    }
}
