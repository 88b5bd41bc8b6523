import StrataPlot
import Testing

/// The reader is what the PNG tests trust, so it must reject what it claims to reject.
@Suite struct PNGReaderTests {
    private func validPNG() throws -> [UInt8] {
        try RGBImage(width: 4, height: 3, background: Color(rgb: 0x336699)).png()
    }

    @Test func readerAcceptsEncoderOutput() throws {
        let reader = try PNGReader(try validPNG())
        #expect(reader.chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
    }

    @Test func readerRejectsAFlippedDataByte() throws {
        var bytes = try validPNG()
        bytes[8 + 8] ^= 0x01  // first byte of IHDR's data (the width's high byte)
        #expect(throws: PNGReader.Problem.self) { try PNGReader(bytes) }
        do {
            _ = try PNGReader(bytes)
        } catch {
            guard case .crcMismatch(let type, _, _) = error else {
                Issue.record("expected a CRC mismatch, got \(error)")
                return
            }
            #expect(type == "IHDR")
        }
    }

    @Test func readerRejectsABadSignature() throws {
        var bytes = try validPNG()
        bytes[1] = UInt8(ascii: "Q")
        #expect(throws: PNGReader.Problem.badSignature) { try PNGReader(bytes) }
    }

    @Test func readerRejectsATruncatedFile() throws {
        let bytes = try validPNG()
        #expect(throws: PNGReader.Problem.self) { try PNGReader(Array(bytes.dropLast(3))) }
    }

    @Test func readerRejectsAWrongInflatedSize() throws {
        let reader = try PNGReader(try validPNG())
        let rowBytes = 1 + 4 * 3
        #expect(throws: PNGReader.Problem.inflatedSize(expected: 4 * rowBytes, actual: 3 * rowBytes)) {
            try reader.inflatedImageData(expectedSize: 4 * rowBytes)
        }
        // Too small a buffer: zlib stops with Z_BUF_ERROR (-5) rather than truncating silently.
        #expect(throws: PNGReader.Problem.inflateFailed(code: -5)) {
            try reader.inflatedImageData(expectedSize: 2 * rowBytes)
        }
    }

    @Test func zlibCRCMatchesTheStandardCheckValue() {
        #expect(PNGReader.zlibCRC(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
