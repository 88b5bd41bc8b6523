import CStrataKernels
import StrataTestSupport
import Testing

private func quantize(_ type: WeightType, _ x: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: type.rowBytes(x.count))
    let rc = out.withUnsafeMutableBytes { st_quantize_row(type.rawValue, x, $0.baseAddress, Int64(x.count)) }
    precondition(rc == 0, "st_quantize_row failed")
    return out
}

private func dequantize(_ type: WeightType, _ bytes: [UInt8], n: Int) -> [Float] {
    var out = [Float](repeating: 0, count: n)
    _ = bytes.withUnsafeBytes { st_dequantize_row(type.rawValue, $0.baseAddress, &out, Int64(n)) }
    return out
}

// MARK: - A transcription of ggml's reference encoders, in Float arithmetic like the C

private func ggmlQ8_0(_ x: ArraySlice<Float>) -> [UInt8] {
    let amax = x.reduce(Float(0)) { max($0, abs($1)) }
    let d = amax / 127
    let id: Float = d != 0 ? 1 / d : 0
    var b = [UInt8](repeating: 0, count: 34)
    b.putU16(Float16(d).bitPattern, at: 0)
    for (j, v) in x.enumerated() { b[2 + j] = UInt8(bitPattern: Int8((v * id).rounded())) }
    return b
}

private func ggmlQ4_0(_ x: ArraySlice<Float>) -> [UInt8] {
    var amax: Float = 0, maxv: Float = 0
    for v in x where amax < abs(v) { amax = abs(v); maxv = v }
    let d = maxv / -8
    let id: Float = d != 0 ? 1 / d : 0
    var b = [UInt8](repeating: 0, count: 18)
    b.putU16(Float16(d).bitPattern, at: 0)
    let xs = Array(x)
    for j in 0..<16 {
        let lo = min(15, Int8(xs[j] * id + 8.5)), hi = min(15, Int8(xs[j + 16] * id + 8.5))
        b[2 + j] = UInt8(lo) | UInt8(hi) << 4
    }
    return b
}

private func ggmlQ4_1(_ x: ArraySlice<Float>) -> [UInt8] {
    let lo = x.min()!, hi = x.max()!
    let d = (hi - lo) / 15
    let id: Float = d != 0 ? 1 / d : 0
    var b = [UInt8](repeating: 0, count: 20)
    b.putU16(Float16(d).bitPattern, at: 0)
    b.putU16(Float16(lo).bitPattern, at: 2)
    let xs = Array(x)
    for j in 0..<16 {
        let a = min(15, Int8((xs[j] - lo) * id + 0.5)), c = min(15, Int8((xs[j + 16] - lo) * id + 0.5))
        b[4 + j] = UInt8(a) | UInt8(c) << 4
    }
    return b
}

@Suite("Weight encoders and activation quantisers")
struct QuantizeTests {
    static let encoders: [WeightType] = [.q4_0, .q4_1, .q8_0]

    @Test("Encoded bytes equal ggml's reference encoders", arguments: encoders)
    func bytesMatchGGMLReference(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xE0 + UInt64(type.rawValue))
        var x = rng.floats(32 * 12, scale: 3)
        x.replaceSubrange(32..<64, with: [Float](repeating: 0, count: 32))  // an all-zero block
        x.replaceSubrange(64..<96, with: [Float](repeating: -1.25, count: 32))  // a constant block
        let got = quantize(type, x)
        var expected: [UInt8] = []
        for blk in stride(from: 0, to: x.count, by: 32) {
            let s = x[blk..<blk + 32]
            expected += type == .q4_0 ? ggmlQ4_0(s) : type == .q4_1 ? ggmlQ4_1(s) : ggmlQ8_0(s)
        }
        #expect(got == expected)
    }

    @Test("Q4_0 encodes a ramp as worked out by hand")
    func q4_0HandExample() {
        // x = j − 16: amax 16 at j = 0, so d = −16/−8 = 2 and level = trunc((j − 16)/2 + 8.5).
        let x = (0..<32).map { Float($0 - 16) }
        let b = quantize(.q4_0, x)
        #expect(b.u16(0) == Float16(2).bitPattern)
        let level = (0..<32).map { min(15, Int((Float($0 - 16) / 2 + 8.5).rounded(.towardZero))) }
        for j in 0..<16 { #expect(b[2 + j] == UInt8(level[j] | level[j + 16] << 4)) }
        #expect(b[2] == 0x80 && b[17] == 0xF8)
    }

    @Test("Round trip error stays within half a step (plus the f16 rounding of the scales)", arguments: encoders)
    func roundTrip(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xE1)
        let x = rng.floats(32 * 16, scale: 2)
        let bytes = quantize(type, x)
        let back = dequantize(type, bytes, n: x.count)
        for blk in 0..<(x.count / 32) {
            let s = Array(x[(32 * blk)..<(32 * blk + 32)])
            let o = blk * type.blockBytes
            let d16 = bytes.half(o)
            let (step, scaleSlack): (Double, Double)
            switch type {
            case .q8_0:
                let d = Double(s.map { abs($0) }.max()! / 127)
                (step, scaleSlack) = (d, abs(d - d16) * 127)
            case .q4_0:
                let m = s.max { abs($0) < abs($1) }!
                let d = Double(m / -8)
                (step, scaleSlack) = (abs(d), abs(d - d16) * 8)
            default:
                let d = Double((s.max()! - s.min()!) / 15)
                (step, scaleSlack) = (d, abs(d - d16) * 15 + abs(Double(s.min()!) - bytes.half(o + 2)))
            }
            for j in 0..<32 {
                var bound = 0.5 * step + scaleSlack + 1e-6 * abs(Double(s[j]))
                // Q4_0's top level is clamped: the value −max maps to level 7, a full step away.
                if type == .q4_0, Double(s[j]) / Double(s.max { abs($0) < abs($1) }! / -8) > 7.5 { bound += 0.5 * step }
                let err = abs(Double(back[32 * blk + j]) - Double(s[j]))
                #expect(err <= bound, "\(type) block \(blk) element \(j): error \(err) > \(bound)")
            }
        }
    }

    @Test("Float encoders round like Float16 and bfloat16 and F32 is a copy")
    func floatEncoders() {
        var rng = SplitMix64(seed: 0xE2)
        let x = rng.floats(100, scale: 1000)
        let h = quantize(.f16, x)
        let bf = quantize(.bf16, x)
        let f = quantize(.f32, x)
        for i in 0..<x.count {
            #expect(h.u16(2 * i) == Float16(x[i]).bitPattern)
            #expect(bf.u16(2 * i) == referenceBF16(x[i]))
            #expect(Float(f.f32(4 * i)) == x[i])
        }
    }

    @Test("K-quant and unknown types cannot be encoded", arguments: [Int32(12), 13, 14, 9, 15, 99])
    func unsupportedEncoders(_ type: Int32) {
        let x = [Float](repeating: 1, count: 256)
        var out = [UInt8](repeating: 0, count: 2048)
        #expect(out.withUnsafeMutableBytes { st_quantize_row(type, x, $0.baseAddress, 256) } == -1)
    }

    // MARK: - Activations

    @Test("Activations land within half a step of x, with block sums consistent", arguments: [WeightType.q4_0, .q4_1, .q4K])
    func activationQuantization(_ type: WeightType) {
        var rng = SplitMix64(seed: 0xE3)
        let n = 512
        var x = rng.floats(n, scale: 4)
        x.replaceSubrange(256..<288, with: [Float](repeating: 0, count: 32))
        let xq = cQuantizeActivations(type, x)
        let back = referenceActivations(type, xq, n: n)
        let block = type.isKQuant ? 256 : 32
        let bytes = type.isKQuant ? 292 : type == .q4_1 ? 36 : 34
        for blk in 0..<(n / block) {
            let s = x[(block * blk)..<(block * blk + block)]
            let d = Double(s.map { abs($0) }.max()! / 127)
            let o = blk * bytes
            let stored = type.isKQuant ? xq.f32(o) : xq.half(o)
            var qsum = 0
            for j in 0..<block {
                let q = xq.i8(o + (type == .q4_1 ? 4 : type.isKQuant ? 4 : 2) + j)
                qsum += q
                #expect(abs(q) <= 127)
                let bound = 0.5 * d * (1 + 1e-6) + abs(stored - d) * Double(abs(q)) + 1e-30
                #expect(abs(back[block * blk + j] - Double(s[s.startIndex + j])) <= bound)
            }
            if type == .q4_1 {
                let exact = stored * Double(qsum)
                #expect(abs(xq.half(o + 2) - exact) <= abs(exact) * 0x1p-11 + 1e-12)
            }
            if type.isKQuant {
                for g in 0..<16 {
                    let sum = (0..<16).reduce(0) { $0 + xq.i8(o + 4 + 16 * g + $1) }
                    #expect(xq.i16(o + 260 + 2 * g) == sum)
                }
            }
        }
    }
}
