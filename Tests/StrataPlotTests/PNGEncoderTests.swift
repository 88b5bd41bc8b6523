import CStrataZlib
import Testing

@testable import StrataPlot

@Suite struct PNGEncoderTests {
    /// A deterministic image whose every pixel differs from its neighbours, so misplaced bytes show.
    private func patterned(width: Int, height: Int) throws -> RGBImage {
        var image = try RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                image[x, y] = Color(red: UInt8(x & 0xFF), green: UInt8(y & 0xFF), blue: UInt8((x * 7 + y * 13) & 0xFF))
            }
        }
        return image
    }

    @Test func fileStartsWithTheSignatureAndHasHeaderDataEnd() throws {
        let bytes = try patterned(width: 5, height: 4).png()
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let reader = try PNGReader(bytes)
        #expect(reader.chunks.first?.type == "IHDR")
        #expect(reader.chunks.last?.type == "IEND")
        #expect(reader.chunks.last?.data.isEmpty == true)
        #expect(reader.chunks.dropFirst().dropLast().allSatisfy { $0.type == "IDAT" })
        #expect(reader.chunks.count >= 3)
    }

    @Test(arguments: [(1, 1), (5, 4), (300, 2), (2, 300)])
    func headerDescribesAnEightBitTruecolourImage(width: Int, height: Int) throws {
        let reader = try PNGReader(try patterned(width: width, height: height).png())
        let header = try #require(reader.chunks.first)
        #expect(header.data.count == 13)
        #expect(PNGReader.bigEndian(header.data, at: 0) == UInt32(width))
        #expect(PNGReader.bigEndian(header.data, at: 4) == UInt32(height))
        #expect(Array(header.data[8...]) == [8, 2, 0, 0, 0])  // depth, truecolour, deflate, filter 0, no interlace
    }

    @Test func everyChunkCRCMatchesZlibAndOurOwn() throws {
        let bytes = try patterned(width: 17, height: 9).png()
        let reader = try PNGReader(bytes)  // the reader checks the stored CRC against zlib's crc32
        for chunk in reader.chunks {
            #expect(CRC32.checksum(Array(chunk.type.utf8), chunk.data) == chunk.storedCRC)
        }
    }

    @Test func crcMatchesTheStandardCheckValueAndZlibOnLongInput() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        let long = (0..<10_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        #expect(CRC32.checksum(long) == PNGReader.zlibCRC(long))
        #expect(CRC32.checksum(Array(long[..<300]), Array(long[300...])) == CRC32.checksum(long))
    }

    @Test(arguments: [(1, 1), (3, 7), (257, 5), (64, 64)])
    func imageDataInflatesToFilteredScanlinesOfThePixels(width: Int, height: Int) throws {
        let image = try patterned(width: width, height: height)
        let reader = try PNGReader(try image.png())
        let rowBytes = width * 3
        let raw = try reader.inflatedImageData(expectedSize: height * (1 + rowBytes))
        for row in 0..<height {
            let start = row * (1 + rowBytes)
            #expect(raw[start] == 0, "row \(row) uses filter None")
            #expect(
                Array(raw[(start + 1)..<(start + 1 + rowBytes)])
                    == Array(image.bytes[(row * rowBytes)..<((row + 1) * rowBytes)])
            )
        }
    }

    @Test func flatImagesCompress() throws {
        let bytes = try RGBImage(width: 500, height: 400).png()
        #expect(bytes.count < 500 * 400 * 3 / 50)
    }

    @Test func imageSidesOutsideTheLimitsAreRejected() {
        #expect(throws: PlotError.invalidSize(width: 0, height: 5)) { try RGBImage(width: 0, height: 5) }
        #expect(throws: PlotError.invalidSize(width: 5, height: RGBImage.maximumSide + 1)) {
            try RGBImage(width: 5, height: RGBImage.maximumSide + 1)
        }
    }

    @Test func pixelAccessOutsideTheImageIsIgnored() throws {
        var image = try RGBImage(width: 2, height: 2)
        image[2, 0] = Color.text
        image[-1, 1] = Color.text
        #expect(image[2, 0] == nil)
        #expect(image.bytes.allSatisfy { $0 == 0xFF })
    }
}
