import NIOCore
import StrataTestSupport
import StrataWire
import Testing

/// Seeded random and mutated inputs: `parse` must return a frame, nil or a `WireError`, never trap; whatever
/// it accepts must re-encode to exactly the bytes it consumed.
@Suite("Random input")
struct RandomInputTests {
    /// Feeds `bytes` to the parser's fuzz driver and records what it finds.
    static func check(_ bytes: [UInt8], limits: WireLimits = .default) -> Int {
        let (accepted, violations) = WireFuzzing.parse(bytes, limits: limits)
        // A plain check rather than `#expect`: in a loop this hot the macro would dominate the run time.
        if !violations.isEmpty { Issue.record("\(violations) for \(hexString(bytes))") }
        return accepted
    }

    @Test("random bytes", arguments: 0..<4)
    func randomBytes(part: UInt64) {
        var rng = SplitMix64(seed: 0xB17E_5000 + part)
        for _ in 0..<25_000 {
            let length = Int(rng.next() % 48)
            _ = Self.check((0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
    }

    @Test("a valid header prefix, then random bytes", arguments: 0..<4)
    func randomAfterHeader(part: UInt64) {
        var rng = SplitMix64(seed: 0x4EAD_E500 + part)
        let kinds = MessageKind.allCases.map(\.rawValue)
        for _ in 0..<25_000 {
            var bytes: [UInt8] = [0x53, 0x54, 0x01, kinds[Int(rng.next() % UInt64(kinds.count))], 0, 0, 0, 0]
            bytes += (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }  // request id
            let length = Int(rng.next() % 80)
            bytes += [0, 0, 0, UInt8(length)]
            bytes += (0..<Int(rng.next() % 96)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = Self.check(bytes)
        }
    }

    @Test("mutated valid frames", arguments: 0..<8)
    func mutatedFrames(part: UInt64) throws {
        var generator = MessageGenerator(seed: 0x3A7E_0000 + part)
        var accepted = 0
        for _ in 0..<25_000 {
            var bytes = Array(try generator.frame().encoded().readableBytesView)
            for _ in 0...generator.below(4) { mutate(&bytes, &generator) }
            accepted += Self.check(bytes, limits: WireLimits(maxTensorPayloadBytes: 4096, maxWeightChunkBytes: 4096))
        }
        // Some mutations (in tensor data, ids, or with a repaired length) still parse; most must not.
        #expect(accepted > 100)
    }

    private func mutate(_ bytes: inout [UInt8], _ g: inout MessageGenerator) {
        guard !bytes.isEmpty else { return }
        let i = g.below(bytes.count)
        switch g.below(7) {
        case 0: bytes[i] ^= UInt8(1 << g.below(8))
        case 1: bytes[i] = UInt8(truncatingIfNeeded: g.rng.next())
        case 2: bytes.insert(UInt8(truncatingIfNeeded: g.rng.next()), at: i)
        case 3: bytes.remove(at: i)
        case 4: bytes.removeLast(g.below(bytes.count))
        case 5: bytes[i] = [0x00, 0x01, 0x7F, 0x80, 0xFF][g.below(5)]
        default:
            // Keep the length field consistent with the new size, so the payload parser sees the damage.
            if bytes.count >= WireFormat.headerSize {
                let length = UInt32(bytes.count - WireFormat.headerSize)
                for k in 0..<4 { bytes[16 + k] = UInt8(truncatingIfNeeded: length >> (24 - 8 * k)) }
            }
        }
    }

    @Test("seeded handshake fuzzing", arguments: 0..<4)
    func handshakeDriver(part: UInt64) {
        var rng = SplitMix64(seed: 0x4A4D_0000 + part)
        var established = 0
        for _ in 0..<2_500 {
            // Mostly "deliver the real message" steps, so that many runs get through the whole handshake.
            var bytes = [UInt8(truncatingIfNeeded: rng.next())]
            bytes += (0..<Int(rng.next() % 24)).map { _ in
                rng.next() % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : (rng.next() & 1 == 0 ? 0x00 : 0x80)
            }
            let outcome = WireFuzzing.handshake(bytes)
            if !outcome.violations.isEmpty { Issue.record("\(outcome.violations) for \(hexString(bytes))") }
            if outcome.coordinatorEstablished { established += 1 }
        }
        #expect(established > 100, "the driver must reach the end of the handshake often")
    }
}
