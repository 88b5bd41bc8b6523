import NIOCore
import StrataTestSupport
import StrataWire
import Testing

/// Bitwise CRC-32C, the definition the table-driven version must match.
private func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
}

@Suite("CRC-32C")
struct CRC32CTests {
    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func knownVectorsFromRFC3720() {
        // RFC 3720 B.4: 32 bytes of zeros, of ones, ascending and descending.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32)) == 0x46DD_794E)
        #expect(CRC32C.checksum(Array((0..<32).reversed())) == 0x113F_DB5C)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("matches the bitwise definition at every length and split", arguments: [0, 1, 7, 8, 9, 15, 16, 63, 1000])
    func matchesReference(length: Int) {
        var rng = SplitMix64(seed: UInt64(length))
        let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(CRC32C.checksum(bytes) == referenceCRC32C(bytes))
        #expect(CRC32C.checksum(ByteBuffer(bytes: bytes)) == referenceCRC32C(bytes))
        for split in [0, length / 3, length] {
            var crc = CRC32C()
            crc.update(bytes[0..<split])
            crc.update(bytes[split...])
            #expect(crc.value == referenceCRC32C(bytes))
        }
    }
}

@Suite("Half-precision conversion")
struct HalfConversionTests {
    @Test func knownF16BitPatterns() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (0.5, 0x3800), (65504, 0x7BFF),
            (65520, 0x7C00),  // rounds up to infinity
            (Float.infinity, 0x7C00), (-Float.infinity, 0xFC00), (0x1p-14, 0x0400),  // smallest normal
            (0x1p-24, 0x0001),  // smallest subnormal
            (0x1p-25, 0x0000),  // half of it: ties to even, zero
            (0x1.8p-25, 0x0001), (1 + 0x1p-11, 0x3C00),  // tie between 1 and next: even is 1
            (1 + 0x1.8p-11, 0x3C01), (0.1, 0x2E66), (1e-10, 0),
        ]
        for (value, bits) in cases {
            #expect(HalfConversion.f16Bits(value) == bits, "f16(\(value))")
        }
        #expect(HalfConversion.float(f16Bits: 0x7E00).isNaN)
        #expect(HalfConversion.f16Bits(.nan) & 0x7E00 == 0x7E00)
    }

    @Test func everyF16ValueSurvivesWidenAndNarrow() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfConversion.float(f16Bits: bits)
            if value.isNaN { continue }
            if HalfConversion.f16Bits(value) != bits { Issue.record("f16 0x\(String(bits, radix: 16))") }
        }
    }

    @Test func f16RoundingMatchesTheNearestRepresentable() {
        // Compare against a brute-force choice between the two neighbouring f16 values.
        var rng = SplitMix64(seed: 16)
        for _ in 0..<20_000 {
            let value = rng.float(scale: 70_000) * (rng.next() & 1 == 0 ? 1 : 0x1p-20)
            let bits = HalfConversion.f16Bits(value)
            let chosen = HalfConversion.float(f16Bits: bits)
            if chosen.isInfinite { continue }
            let down = HalfConversion.float(f16Bits: bits &- 1), up = HalfConversion.float(f16Bits: bits &+ 1)
            let error = abs(Double(chosen) - Double(value))
            for neighbour in [down, up] where neighbour.isFinite && neighbour.sign == chosen.sign {
                if abs(Double(neighbour) - Double(value)) < error { Issue.record("f16(\(value)) not nearest") }
            }
        }
    }

    @Test func bf16IsTheRoundedUpperHalf() {
        #expect(HalfConversion.bf16Bits(1) == 0x3F80)
        #expect(HalfConversion.bf16Bits(-2.5) == 0xC020)
        #expect(HalfConversion.bf16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(HalfConversion.bf16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(HalfConversion.bf16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(HalfConversion.bf16Bits(.greatestFiniteMagnitude) == 0x7F80)  // overflows to infinity
        #expect(HalfConversion.float(bf16Bits: HalfConversion.bf16Bits(.nan)).isNaN)
        for bits in UInt16.min...UInt16.max {
            let value = HalfConversion.float(bf16Bits: bits)
            if !value.isNaN, HalfConversion.bf16Bits(value) != bits { Issue.record("bf16 0x\(String(bits, radix: 16))") }
        }
    }
}

@Suite("Bytes32")
struct Bytes32Tests {
    @Test func hexRoundTrips() throws {
        let hash = try #require(Bytes32(hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        #expect(hash.description == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Bytes32(hex: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855") == hash)
        #expect(Bytes32(hex: "e3b0") == nil)
        #expect(Bytes32(hex: String(repeating: "g", count: 64)) == nil)
        #expect(Bytes32([1, 2, 3]) == nil)
        #expect(Bytes32(repeatElement(7, count: 32))?.bytes == [UInt8](repeating: 7, count: 32))
    }
}

@Suite("Wire tensors")
struct WireTensorTests {
    @Test func sizeIsChecked() {
        #expect(WireTensor(dtype: .f32, rows: 2, columns: 2, data: ByteBuffer(bytes: [UInt8](repeating: 0, count: 16))) != nil)
        #expect(WireTensor(dtype: .f32, rows: 2, columns: 2, data: ByteBuffer(bytes: [UInt8](repeating: 0, count: 15))) == nil)
        #expect(WireTensor(dtype: .bf16, rows: -1, columns: 2, data: ByteBuffer()) == nil)
        #expect(WireTensor(dtype: .f32, rows: 1 << 20, columns: 1 << 20, data: ByteBuffer()) == nil)
    }

    @Test func elementsAreLittleEndian() {
        let tensor = WireTensor(values: [1, -2], rows: 1, columns: 2, dtype: .f32)
        #expect(Array(tensor.data.readableBytesView) == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        let half = WireTensor(values: [1, -2], rows: 2, columns: 1, dtype: .f16)
        #expect(Array(half.data.readableBytesView) == [0x00, 0x3C, 0x00, 0xC0])
    }
}
