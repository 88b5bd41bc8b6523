import CStrataZlib

/// A minimal, strict PNG reader for the tests: splits a file into chunks, checks each CRC with zlib's `crc32`
/// (independent of the encoder's own CRC code), and inflates the image data with zlib's `uncompress`.
struct PNGReader {
    struct Chunk {
        var type: String
        var data: [UInt8]
        var storedCRC: UInt32
    }

    enum Problem: Error, Equatable {
        case badSignature
        case truncated(offset: Int)
        case crcMismatch(type: String, stored: UInt32, computed: UInt32)
        case inflateFailed(code: Int32)
        case inflatedSize(expected: Int, actual: Int)
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    let chunks: [Chunk]

    init(_ bytes: [UInt8]) throws(Problem) {
        guard bytes.count >= 8, Array(bytes[0..<8]) == Self.signature else { throw .badSignature }
        var offset = 8
        var chunks: [Chunk] = []
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else { throw .truncated(offset: offset) }
            let length = Int(Self.bigEndian(bytes, at: offset))
            guard length <= bytes.count - offset - 12 else { throw .truncated(offset: offset) }
            let typeBytes = Array(bytes[(offset + 4)..<(offset + 8)])
            let data = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            let stored = Self.bigEndian(bytes, at: offset + 8 + length)
            let computed = Self.zlibCRC(typeBytes + data)
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard stored == computed else { throw .crcMismatch(type: type, stored: stored, computed: computed) }
            chunks.append(Chunk(type: type, data: data, storedCRC: stored))
            offset += 12 + length
        }
        self.chunks = chunks
    }

    /// The concatenated IDAT payloads inflated, which must come to exactly `expectedSize` bytes.
    func inflatedImageData(expectedSize: Int) throws(Problem) -> [UInt8] {
        let compressed = chunks.filter { $0.type == "IDAT" }.flatMap(\.data)
        var size = uLong(expectedSize + 1)  // one spare byte, so an over-long stream shows as a size mismatch
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { output in
            compressed.withUnsafeBufferPointer { input in
                uncompress(output.baseAddress, &size, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK else { throw .inflateFailed(code: status) }
        guard Int(size) == expectedSize else { throw .inflatedSize(expected: expectedSize, actual: Int(size)) }
        return Array(out[0..<Int(size)])
    }

    static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func zlibCRC(_ bytes: [UInt8]) -> UInt32 {
        let value = bytes.withUnsafeBufferPointer { buffer in
            crc32(crc32(0, nil, 0), buffer.baseAddress, uInt(buffer.count))
        }
        return UInt32(truncatingIfNeeded: value)
    }
}
