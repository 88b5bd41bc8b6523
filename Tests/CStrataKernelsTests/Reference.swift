import CStrataKernels
import StrataTestSupport
import Testing

// Independent Swift decoders for every block format, written element by element from the
// layout description (not from the C loops), plus random-row generators and C call wrappers.

/// The weight types the kernels read, with their GGUF ids.
enum WeightType: Int32, CaseIterable, Sendable, CustomTestStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4K = 12, q5K = 13, q6K = 14, bf16 = 30

    var testDescription: String { "\(self)" }

    var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q8_0: 32
        case .q4K, .q5K, .q6K: 256
        }
    }

    var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18
        case .q4_1: 20
        case .q8_0: 34
        case .q4K: 144
        case .q5K: 176
        case .q6K: 210
        }
    }

    var isKQuant: Bool { blockElements == 256 }
    var isFloat: Bool { blockElements == 1 }

    func rowBytes(_ n: Int) -> Int { n / blockElements * blockBytes }

    /// Row lengths exercised by the product tests: one block, several blocks, odd counts.
    var testLengths: [Int] {
        switch self {
        case .f32, .f16, .bf16: [1, 7, 32, 37, 200]
        case .q4_0, .q4_1, .q8_0: [32, 64, 96, 160, 576]
        case .q4K, .q5K, .q6K: [256, 512, 768]
        }
    }
}

// MARK: - Scalar formats

func halfToDouble(_ bits: UInt16) -> Double { Double(Float(Float16(bitPattern: bits))) }
func halfBits(_ value: Float) -> UInt16 { Float16(value).bitPattern }
func bf16ToDouble(_ bits: UInt16) -> Double { Double(Float(bitPattern: UInt32(bits) << 16)) }

/// Round-to-nearest-even float → bfloat16, decided by comparing distances in Double.
func referenceBF16(_ value: Float) -> UInt16 {
    if value.isNaN { return 0x7FC0 }
    let bits = value.bitPattern
    let down = UInt16(bits >> 16)
    if bits & 0xFFFF == 0 { return down }
    let up = down &+ 1
    let dDown = abs(Double(value) - bf16ToDouble(down))
    // Above the largest finite bfloat16, the next step up (2^128) stands for infinity.
    let upValue = up & 0x7FFF == 0x7F80 ? (value < 0 ? -0x1p128 : 0x1p128) : bf16ToDouble(up)
    let dUp = abs(Double(value) - upValue)
    if dDown < dUp { return down }
    if dUp < dDown { return up }
    return down & 1 == 0 ? down : up
}

// MARK: - Byte access

extension Array where Element == UInt8 {
    func u16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func half(_ at: Int) -> Double { halfToDouble(u16(at)) }
    func i8(_ at: Int) -> Int { Int(Int8(bitPattern: self[at])) }
    func f32(_ at: Int) -> Double {
        Double(Float(bitPattern: UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16
            | UInt32(self[at + 3]) << 24))
    }
    func i16(_ at: Int) -> Int { Int(Int16(bitPattern: u16(at))) }

    mutating func putU16(_ v: UInt16, at: Int) {
        self[at] = UInt8(v & 0xFF)
        self[at + 1] = UInt8(v >> 8)
    }
}

/// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block (12 packed bytes at `s`).
func kScaleMin(_ b: [UInt8], _ s: Int, _ j: Int) -> (Int, Int) {
    if j < 4 { return (Int(b[s + j] & 63), Int(b[s + j + 4] & 63)) }
    let sc = Int(b[s + j + 4] & 0x0F) | Int(b[s + j - 4] >> 6) << 4
    let mn = Int(b[s + j + 4] >> 4) | Int(b[s + j] >> 6) << 4
    return (sc, mn)
}

// MARK: - Reference decoders

/// Element e of the block starting at byte `o`, by each format's definition.
func referenceElement(_ type: WeightType, _ b: [UInt8], _ o: Int, _ e: Int) -> Double {
    switch type {
    case .f32: return b.f32(o)
    case .f16: return b.half(o)
    case .bf16: return bf16ToDouble(b.u16(o))
    case .q4_0:
        let byte = b[o + 2 + e % 16]
        let q = e < 16 ? Int(byte & 15) : Int(byte >> 4)
        return b.half(o) * Double(q - 8)
    case .q4_1:
        let byte = b[o + 4 + e % 16]
        let q = e < 16 ? Int(byte & 15) : Int(byte >> 4)
        return b.half(o) * Double(q) + b.half(o + 2)
    case .q8_0:
        return b.half(o) * Double(b.i8(o + 2 + e))
    case .q4K, .q5K:
        let j = e / 32, l = e % 32, chunk = j / 2
        let qsAt = type == .q4K ? o + 16 : o + 48
        let byte = b[qsAt + 32 * chunk + l]
        var q = j % 2 == 0 ? Int(byte & 15) : Int(byte >> 4)
        if type == .q5K { q += Int((b[o + 16 + l] >> j) & 1) << 4 }
        let (sc, mn) = kScaleMin(b, o + 4, j)
        return b.half(o) * Double(sc) * Double(q) - b.half(o + 2) * Double(mn)
    case .q6K:
        let h = e / 128, r = e % 128, k = r / 32, l = r % 32
        let low = b[o + 64 * h + l + (k % 2 == 1 ? 32 : 0)]
        let lowBits = k < 2 ? Int(low & 15) : Int(low >> 4)
        let highBits = Int((b[o + 128 + 32 * h + l] >> (2 * k)) & 3)
        let q = (lowBits | highBits << 4) - 32
        let scale = b.i8(o + 192 + e / 16)
        return b.half(o + 208) * Double(scale) * Double(q)
    }
}

func referenceDequantize(_ type: WeightType, _ b: [UInt8], offset: Int = 0, n: Int) -> [Double] {
    (0..<n).map { i in
        referenceElement(type, b, offset + i / type.blockElements * type.blockBytes, i % type.blockElements)
    }
}

/// Decodes fast-path activations (Q8_0 / Q8_1 / Q8_K / F32) back to values d·q.
func referenceActivations(_ weight: WeightType, _ b: [UInt8], n: Int) -> [Double] {
    switch weight {
    case .f32, .f16, .bf16: return (0..<n).map { b.f32(4 * $0) }
    case .q4_0, .q8_0: return (0..<n).map { b.half(34 * ($0 / 32)) * Double(b.i8(34 * ($0 / 32) + 2 + $0 % 32)) }
    case .q4_1: return (0..<n).map { b.half(36 * ($0 / 32)) * Double(b.i8(36 * ($0 / 32) + 4 + $0 % 32)) }
    case .q4K, .q5K, .q6K: return (0..<n).map { b.f32(292 * ($0 / 256)) * Double(b.i8(292 * ($0 / 256) + 4 + $0 % 256)) }
    }
}

// MARK: - Random rows

extension SplitMix64 {
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * (float(scale: 1) + 1) / 2 }
}

/// One random block of `type`: random quant bytes with small, finite f16 scales.
func randomBlock(_ type: WeightType, _ rng: inout SplitMix64) -> [UInt8] {
    var b = (0..<type.blockBytes).map { _ in rng.byte() }
    switch type {
    case .f32: return withUnsafeBytes(of: rng.float(scale: 1).bitPattern.littleEndian) { Array($0) }
    case .f16: b.putU16(halfBits(rng.float(scale: 1)), at: 0)
    case .bf16: b.putU16(referenceBF16(rng.float(scale: 1)), at: 0)
    case .q4_0: b.putU16(halfBits(rng.uniform(0.02, 0.1) * (rng.next() & 1 == 0 ? 1 : -1)), at: 0)
    case .q4_1:
        b.putU16(halfBits(rng.uniform(0.01, 0.05)), at: 0)
        b.putU16(halfBits(rng.uniform(-0.3, 0.1)), at: 2)
    case .q8_0: b.putU16(halfBits(rng.uniform(0.001, 0.01)), at: 0)
    case .q4K, .q5K:
        b.putU16(halfBits(rng.uniform(0.0005, 0.003)), at: 0)
        b.putU16(halfBits(rng.uniform(0.0002, 0.002)), at: 2)
    case .q6K: b.putU16(halfBits(rng.uniform(0.0001, 0.0005)), at: 208)
    }
    return b
}

/// A random matrix of `rows` rows of `n` elements, each row followed by `pad` spare bytes.
struct Matrix {
    let type: WeightType
    let rows: Int
    let n: Int
    let stride: Int
    var bytes: [UInt8]

    init(_ type: WeightType, rows: Int, n: Int, pad: Int = 0, rng: inout SplitMix64) {
        self.type = type
        self.rows = rows
        self.n = n
        stride = type.rowBytes(n) + pad
        bytes = []
        for _ in 0..<rows {
            for _ in 0..<(n / type.blockElements) { bytes += randomBlock(type, &rng) }
            bytes += [UInt8](repeating: 0xAB, count: pad)
        }
    }

    func row(_ r: Int) -> [Double] { referenceDequantize(type, bytes, offset: r * stride, n: n) }
}

// MARK: - Reference products

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
func absDot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + abs($1.0 * $1.1) } }

// MARK: - C calls over Swift arrays

func cMatvecF32(_ m: Matrix, _ x: [Float], y: inout [Float], r0: Int, r1: Int) -> Int32 {
    m.bytes.withUnsafeBytes { w in
        st_matvec_f32(m.type.rawValue, w.baseAddress, m.stride, x, &y, Int64(m.n), Int64(r0), Int64(r1))
    }
}

func cQuantizeActivations(_ type: WeightType, _ x: [Float]) -> [UInt8] {
    var xq = [UInt8](repeating: 0, count: st_vec_bytes(type.rawValue, Int64(x.count)))
    let rc = xq.withUnsafeMutableBytes { st_vec_quantize(type.rawValue, x, $0.baseAddress, Int64(x.count)) }
    precondition(rc == 0, "st_vec_quantize failed")
    return xq
}

func cMatvecQ(_ m: Matrix, _ xq: [UInt8], y: inout [Float], r0: Int, r1: Int) -> Int32 {
    m.bytes.withUnsafeBytes { w in
        xq.withUnsafeBytes { xb in
            st_matvec_q(m.type.rawValue, w.baseAddress, m.stride, xb.baseAddress, &y, Int64(m.n), Int64(r0), Int64(r1))
        }
    }
}

/// `batch` activation vectors laid out `xqStride` bytes apart; y is batch × ldy.
func cMatmulQ(
    _ m: Matrix, _ xq: [UInt8], xqStride: Int, batch: Int, y: inout [Float], ldy: Int, r0: Int, r1: Int
) -> Int32 {
    m.bytes.withUnsafeBytes { w in
        xq.withUnsafeBytes { xb in
            st_matmul_q(
                m.type.rawValue, w.baseAddress, m.stride, xb.baseAddress, xqStride, &y, Int64(ldy), Int64(m.n),
                Int64(batch), Int64(r0), Int64(r1))
        }
    }
}

/// Runs `body` on the portable path, then restores automatic selection.
func withScalarPath<T>(_ body: () throws -> T) rethrows -> T {
    st_force_scalar(1)
    defer { st_force_scalar(0) }
    return try body()
}

/// Runs `body` with the path capped at `level` (1 scalar, 2 AVX2, 3 AVX-512), then restores
/// automatic selection.
func withPath<T>(_ level: Int32, _ body: () throws -> T) rethrows -> T {
    st_force_path(level)
    defer { st_force_path(0) }
    return try body()
}

/// The path levels this CPU runs, lowest first. Read it only where no test forces a path (inside
/// the serialized path suite).
func availableLevels() -> [Int32] {
    switch String(cString: st_simd_path()) {
    case "avx512": [1, 2, 3]
    case "avx2": [1, 2]
    default: [1]
    }
}

func pathName(_ level: Int32) -> String { ["", "scalar", "avx2", "avx512"][Int(level)] }
