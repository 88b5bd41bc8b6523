/// Scalars, their classes and their UTF-8 offsets for one run of text, reused across runs so
/// that encoding allocates little.
struct ScalarBuffer {
    /// Scalar values; (count,)
    var values: [UInt32] = []
    /// ScalarClass per scalar; (count,)
    var classes: [UInt8] = []
    /// UTF-8 offset of each scalar in the source bytes, plus the end offset; (count + 1,)
    var offsets: [Int] = []

    var count: Int { values.count }

    /// Decodes `bytes[range]`, which must be well-formed UTF-8 (it comes from a Swift String and
    /// was cut only at whole-token boundaries).
    mutating func load(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        values.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let lead = bytes[i]
            var value = UInt32(lead)
            var length = 1
            if lead >= 0xF0 {
                value &= 0x07; length = 4
            } else if lead >= 0xE0 {
                value &= 0x0F; length = 3
            } else if lead >= 0xC0 {
                value &= 0x1F; length = 2
            }
            length = min(length, end - i)  // hazard: never read past the range
            for k in 1..<max(length, 1) {
                value = (value << 6) | UInt32(bytes[i + k] & 0x3F)
            }
            offsets.append(i)
            values.append(value)
            classes.append(ScalarClass.of(value))
            i += length
        }
        offsets.append(end)
    }
}
