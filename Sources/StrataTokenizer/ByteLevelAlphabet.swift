/// GPT-2's reversible mapping between the 256 byte values and printable Unicode scalars.
///
/// Printable Latin-1 bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the other 68 bytes
/// (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100 and up in byte order, so a
/// space is `Ġ` (U+0120) and a newline is `Ċ` (U+010A).
// reference: GPT-2 encoder.py `bytes_to_unicode`
enum ByteLevelAlphabet {
    /// byteToScalar[b] is the scalar value byte b is written as.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 256
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = shifted
                shifted += 1
            }
        }
        return table
    }()

    /// scalarToByte[v] is the byte written as scalar v, or -1; covers v < 324 (256 + 68).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in byteToScalar.enumerated() {
            table[Int(scalar)] = Int16(byte)
        }
        return table
    }()

    private static func standsForItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The token text (in the byte alphabet) for a single byte.
    static func text(forByte byte: UInt8) -> String {
        // Every table entry is below 324, so it is a valid scalar.
        String(Character(Unicode.Scalar(UInt16(byteToScalar[Int(byte)]))!))
    }

    /// The raw bytes a byte-alphabet token text stands for. Scalars outside the alphabet (which a
    /// well-formed vocabulary never has) are passed through as their own UTF-8.
    static func decode(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = Int(scalar.value)
            if value < scalarToByte.count, scalarToByte[value] >= 0 {
                bytes.append(UInt8(scalarToByte[value]))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }
}
