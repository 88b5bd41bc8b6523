import NIOCore

/// Bytes from hex text: pairs of hex digits; whitespace is ignored and `#` comments out the rest of a line.
func hexBytes(_ text: String) -> [UInt8] {
    var digits = [UInt8]()
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for c in code.utf8 where !(c == 32 || c == 9 || c == 13) { digits.append(c) }
    }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    func value(_ c: UInt8) -> UInt8 {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: preconditionFailure("not a hex digit: \(c)")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

func hexBuffer(_ text: String) -> ByteBuffer {
    ByteBuffer(bytes: hexBytes(text))
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        .joined(separator: " ")
}
