import CStrataZlib

/// Writes an ``RGBImage`` as a PNG file (reference: PNG specification, third edition, sections 5 and 11).
///
/// Layout: the 8-byte signature, `IHDR` (truecolour, 8 bits per sample), one `IDAT` holding the zlib stream of
/// all scanlines, and `IEND`. Each scanline is filter byte 0 (None) followed by the row's RGB bytes: plots are
/// mostly flat colour, which deflate already compresses well without prediction.
enum PNGEncoder {
    /// The fixed first eight bytes of every PNG file.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// PNG colour type 2: each pixel is an R, G, B triple.
    static let colorTypeTruecolor: UInt8 = 2

    /// Encodes `image`.
    /// - Throws: `PlotError.compressionFailed` if zlib's `compress2` fails.
    static func encode(_ image: RGBImage) throws(PlotError) -> [UInt8] {
        var header: [UInt8] = []
        appendBigEndian(UInt32(image.width), to: &header)  // width and height are at most RGBImage.maximumSide
        appendBigEndian(UInt32(image.height), to: &header)
        header += [8, colorTypeTruecolor, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace

        var file = signature
        appendChunk("IHDR", header, to: &file)
        appendChunk("IDAT", try compress(scanlines(of: image)), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// The filtered image data: (height, 1 + width × 3), each row a filter byte (0) then the row's pixels.
    static func scanlines(of image: RGBImage) -> [UInt8] {
        let rowBytes = image.width * 3
        var out = [UInt8]()
        out.reserveCapacity(image.height * (1 + rowBytes))
        for row in 0..<image.height {
            out.append(0)
            out += image.bytes[(row * rowBytes)..<((row + 1) * rowBytes)]
        }
        return out
    }

    /// A zlib stream (RFC 1950) of `data` at the best compression level.
    static func compress(_ data: [UInt8]) throws(PlotError) -> [UInt8] {
        var capacity = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let status = out.withUnsafeMutableBufferPointer { output in
            data.withUnsafeBufferPointer { input in
                compress2(output.baseAddress, &capacity, input.baseAddress, uLong(input.count), Z_BEST_COMPRESSION)
            }
        }
        guard status == Z_OK else { throw .compressionFailed(code: status) }
        out.removeSubrange(Int(capacity)...)  // compress2 set capacity to the bytes written
        return out
    }

    /// Appends one chunk: big-endian length, the four-letter type, the data, and the CRC of type + data.
    static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        assert(typeBytes.count == 4, "PNG chunk types are four ASCII letters")
        appendBigEndian(UInt32(data.count), to: &file)  // IDAT of a maximumSide² image is < 2³¹ bytes
        file += typeBytes
        file += data
        appendBigEndian(CRC32.checksum(typeBytes, data), to: &file)
    }

    private static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
