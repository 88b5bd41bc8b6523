import CStrataKernels
import Testing

/// The bandwidth probe's kernels compute what they claim, at lengths that exercise the tails.
@Suite struct StreamTests {
    @Test(arguments: [0, 1, 3, 4, 5, 127, 1000, 4099])
    func readIsTheXorOfEveryWord(count: Int) {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<count).map { _ in UInt64.random(in: .min ... .max, using: &generator) }
        #expect(st_stream_read(words, Int64(count)) == words.reduce(0, ^))
        if count > 0 {
            var flipped = words
            flipped[count - 1] ^= 1 << 17
            #expect(st_stream_read(flipped, Int64(count)) != words.reduce(0, ^), "the last word is read")
        }
    }

    @Test(arguments: [0, 1, 7, 4096, 100_003])
    func copyMovesEveryByte(bytes: Int) {
        let source = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var destination = [UInt8](repeating: 0, count: bytes + 1)
        destination[bytes] = 0xAB
        st_stream_copy(&destination, source, Int64(bytes))
        #expect(Array(destination.prefix(bytes)) == source)
        #expect(destination[bytes] == 0xAB, "nothing past the end")
    }
}
