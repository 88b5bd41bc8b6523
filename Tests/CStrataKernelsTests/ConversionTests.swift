import CStrataKernels
import StrataTestSupport
import Testing

func toHalf(_ values: [Float]) -> [UInt16] {
    var out = [UInt16](repeating: 0, count: values.count)
    st_f32_to_f16(values, &out, Int64(values.count))
    return out
}

func fromHalf(_ bits: [UInt16]) -> [Float] {
    var out = [Float](repeating: 0, count: bits.count)
    st_f16_to_f32(bits, &out, Int64(bits.count))
    return out
}

func toBF16(_ values: [Float]) -> [UInt16] {
    var out = [UInt16](repeating: 0, count: values.count)
    st_f32_to_bf16(values, &out, Int64(values.count))
    return out
}

func fromBF16(_ bits: [UInt16]) -> [Float] {
    var out = [Float](repeating: 0, count: bits.count)
    st_bf16_to_f32(bits, &out, Int64(bits.count))
    return out
}

/// Floats that probe every branch of a half conversion: signed zeros, subnormal boundaries and
/// ties, the overflow threshold, infinities and NaNs, plus random values across the exponent range.
func halfProbeValues() -> [Float] {
    var values: [Float] = [
        0, -0.0, 1, -1, 0x1p-24, 0x1p-25, 0x1.000002p-25, 3 * 0x1p-25, 0x1p-14, 0x1p-14 - 0x1p-25,
        0x1p-14 - 0x1p-24, 1 + 0x1p-11, 1 + 3 * 0x1p-11, 65504, 65519.996, 65520, 1e10, -1e10,
        .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001), .leastNonzeroMagnitude,
        .greatestFiniteMagnitude, 0x1p-26, -0x1p-24,
    ]
    var rng = SplitMix64(seed: 7)
    for _ in 0..<4000 {
        // Exponents from 2^-30 to 2^17 cover zero-flush, subnormal, normal, and overflow.
        let exp = Float(Int(rng.next() % 48) - 30)
        values.append(rng.float(scale: 1) * Float(sign: .plus, exponent: Int(exp), significand: 1))
    }
    return values
}

@Suite("f16 and bf16 conversions")
struct ConversionTests {
    @Test("f32→f16 rounds to nearest even at ties, subnormals and the overflow threshold")
    func halfRoundingEdgeCases() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000),
            (0x1p-24, 0x0001),  // smallest subnormal
            (0x1p-25, 0x0000),  // half of it: tie to even (zero)
            (0x1.000002p-25, 0x0001),  // just above the tie
            (3 * 0x1p-25, 0x0002),  // tie between 1 and 2 ulps: even
            (0x1p-14 - 0x1p-25, 0x0400),  // tie between largest subnormal and smallest normal
            (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02),  // ties in the normal range
            (65504, 0x7BFF), (65519.996, 0x7BFF), (65520, 0x7C00), (1e10, 0x7C00), (-1e10, 0xFC00),
            (.infinity, 0x7C00), (-.infinity, 0xFC00), (0x1p-26, 0x0000), (-0x1p-24, 0x8001),
        ]
        let got = toHalf(cases.map(\.0))
        for (i, c) in cases.enumerated() {
            #expect(got[i] == c.1, "f32 \(c.0) → 0x\(String(got[i], radix: 16)), expected 0x\(String(c.1, radix: 16))")
        }
    }

    @Test("f32→f16 keeps NaN a NaN with its sign")
    func halfNaN() {
        let got = toHalf([.nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC0_0000)])
        for h in got { #expect(h & 0x7C00 == 0x7C00 && h & 0x03FF != 0) }
        #expect(got[0] & 0x8000 == 0)
        #expect(got[1] & 0x8000 != 0)
    }

    @Test("f32→f16 matches Swift's Float16 rounding on probe values")
    func halfMatchesFloat16() {
        let values = halfProbeValues().filter { !$0.isNaN }
        let got = toHalf(values)
        for (i, v) in values.enumerated() {
            #expect(got[i] == Float16(v).bitPattern, "value \(v)")
        }
    }

    @Test("f16→f32 is exact for all 65536 half values (NaNs stay NaN)")
    func halfToFloatAllValues() {
        let all = (0...0xFFFF).map { UInt16($0) }
        let got = fromHalf(all)
        for (i, h) in all.enumerated() {
            let expected = Float(Float16(bitPattern: h))
            if expected.isNaN {
                #expect(got[i].isNaN, "half 0x\(String(h, radix: 16))")
            } else {
                #expect(got[i].bitPattern == expected.bitPattern, "half 0x\(String(h, radix: 16))")
            }
        }
    }

    @Test("f32→bf16 rounds to nearest even, keeps NaN, rounds past the largest finite to inf")
    func bf16EdgeCases() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3F80), (1 + 0x1p-8, 0x3F80), (1 + 3 * 0x1p-8, 0x3F82),
            (1 + 0x1p-8 + 0x1p-20, 0x3F81), (.infinity, 0x7F80), (-.infinity, 0xFF80),
            (.greatestFiniteMagnitude, 0x7F80), (Float(bitPattern: 0x0000_0001), 0x0000),
            (Float(bitPattern: 0x0000_8000), 0x0000), (Float(bitPattern: 0x0001_8000), 0x0002),
            (Float(bitPattern: 0x8000_8001), 0x8001),
        ]
        let got = toBF16(cases.map(\.0))
        for (i, c) in cases.enumerated() {
            #expect(got[i] == c.1, "f32 \(c.0) → 0x\(String(got[i], radix: 16)), expected 0x\(String(c.1, radix: 16))")
        }
        let nans = toBF16([.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFF80_0001)])
        for h in nans { #expect(fromBF16([h])[0].isNaN) }
        #expect(nans[2] & 0x8000 != 0)
    }

    @Test("f32→bf16 matches a distance-based reference on random values")
    func bf16MatchesReference() {
        let values = halfProbeValues().filter { !$0.isNaN }
        let got = toBF16(values)
        for (i, v) in values.enumerated() { #expect(got[i] == referenceBF16(v), "value \(v)") }
    }

    @Test("bf16→f32 widens exactly")
    func bf16ToFloat() {
        let all = stride(from: 0, through: 0xFFFF, by: 7).map { UInt16($0) }
        let got = fromBF16(all)
        for (i, h) in all.enumerated() {
            let expected = Float(bitPattern: UInt32(h) << 16)
            #expect(got[i].bitPattern == expected.bitPattern || (expected.isNaN && got[i].isNaN))
        }
    }
}
