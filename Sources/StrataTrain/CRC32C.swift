/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8, for checkpoint
/// integrity. Check value: crc32c("123456789") = 0xE3069283.
struct CRC32C {
    private(set) var value: UInt32 = 0

    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    /// Folds `bytes` into the running checksum.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var crc = ~value
        var i = 0
        let n = bytes.count
        Self.tables.withUnsafeBufferPointer { table in
            while i + 8 <= n {
                let word = UInt64(littleEndian: (base + i).loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                crc =
                    table[7 * 256 + Int(word & 0xFF)] ^ table[6 * 256 + Int((word >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((word >> 16) & 0xFF)] ^ table[4 * 256 + Int((word >> 24) & 0xFF)]
                    ^ table[3 * 256 + Int((word >> 32) & 0xFF)] ^ table[2 * 256 + Int((word >> 40) & 0xFF)]
                    ^ table[1 * 256 + Int((word >> 48) & 0xFF)] ^ table[Int(word >> 56)]
                i += 8
            }
            while i < n {
                crc = table[Int((crc ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
        }
        value = ~crc
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = CRC32C()
        c.update(bytes)
        return c.value
    }
}
