/// The four character classes the split patterns distinguish, as one byte per scalar.
///
/// `\p{L}` is general category L*, `\p{N}` is N*, `\s` is the Unicode White_Space property, and
/// everything else (punctuation, symbols, marks, controls that are not white space, unassigned
/// scalars) is "other". Zero is reserved for "outside the text", which matches nothing.
enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    static let other: UInt8 = 8

    /// The class of scalar value `value` (a valid scalar).
    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        if value < 0x10000 { return basicPlane[Int(value)] }
        return compute(value)
    }

    /// Classes for U+0000…U+FFFF, computed once on first use (about 10 ms).
    private static let basicPlane: [UInt8] = (0..<0x10000).map { compute(UInt32($0)) }

    private static func compute(_ value: UInt32) -> UInt8 {
        // Surrogate code points are not scalars; they never occur in a String.
        guard let scalar = Unicode.Scalar(value) else { return other }
        let properties = scalar.properties
        if properties.isWhitespace { return space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return other
        }
    }
}
