/// Conversions between Float and the 16-bit wire formats, done on bit patterns so they behave the same on every
/// platform (Swift's `Float16` is missing on some). Narrowing rounds to nearest, ties to even; NaN stays NaN.
public enum HalfConversion {
    /// IEEE 754 binary16 bits of `value`; overflow becomes ±infinity, tiny values become subnormals or ±0.
    /// - Parameter value: the value to narrow.
    /// - Returns: the binary16 bit pattern.
    public static func f16Bits(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        var mantissa = x & 0x7F_FFFF
        if exponent == 0xFF {
            // Infinity keeps a zero mantissa; NaN keeps its top payload bits and is forced quiet.
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Result is subnormal (or zero): shift the mantissa, implicit bit included, into 10 bits.
            if halfExponent < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - halfExponent)  // 13 bits of precision lost, plus the denormalisation
            var result = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && result & 1 == 1) { result += 1 }
            return sign | UInt16(truncatingIfNeeded: result)
        }
        var result = UInt32(halfExponent) << 10 | mantissa >> 13
        let remainder = mantissa & 0x1FFF
        // A carry out of the mantissa bumps the exponent, and from the largest finite value gives infinity.
        if remainder > 0x1000 || (remainder == 0x1000 && result & 1 == 1) { result += 1 }
        return sign | UInt16(truncatingIfNeeded: result)
    }

    /// The Float whose value the binary16 bits hold (exactly: every binary16 value is a Float).
    /// - Parameter bits: binary16 bit pattern.
    /// - Returns: the widened value.
    public static func float(f16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            // ±0 or a subnormal: mantissa · 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | mantissa << 13)
        }
    }

    /// bfloat16 bits of `value`: the upper half of its binary32 pattern, rounded to nearest-even.
    /// - Parameter value: the value to narrow.
    /// - Returns: the bfloat16 bit pattern.
    public static func bf16Bits(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
        let bias: UInt32 = 0x7FFF + ((x >> 16) & 1)
        return UInt16(truncatingIfNeeded: (x &+ bias) >> 16)
    }

    /// The Float whose value the bfloat16 bits hold.
    /// - Parameter bits: bfloat16 bit pattern.
    /// - Returns: the widened value.
    public static func float(bf16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
