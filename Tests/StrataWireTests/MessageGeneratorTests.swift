import StrataWire
import Testing

/// The generator behind the property tests must itself produce varied input, or those tests prove little.
@Suite("Message generator")
struct MessageGeneratorTests {
    @Test func messagesVaryAndReachBothSidesOfEveryOption() {
        var generator = MessageGenerator(seed: 1)
        var frames: [Frame] = []
        for _ in 0..<300 { frames.append(Frame(generator.message(.hello), requestID: generator.integer())) }
        let distinct = Set(frames.map { "\($0)" })
        #expect(distinct.count >= 295)
        let hellos = frames.compactMap { if case .hello(let h) = $0.message { h } else { nil } }
        #expect(hellos.contains { $0.modelHash == nil } && hellos.contains { $0.modelHash != nil })
        #expect(hellos.contains { $0.name.utf8.count == Hello.maxNameBytes })
        #expect(hellos.contains { $0.name.utf8.count != $0.name.count }, "multi-byte UTF-8 must appear")

        let kinds = Set((0..<500).map { _ in generator.frame().message.kind })
        #expect(kinds == Set(MessageKind.allCases))

        var chunks = (0..<50).compactMap { _ -> WeightChunk? in
            if case .weightChunk(let c) = generator.message(.weightChunk) { c } else { nil }
        }
        #expect(chunks.contains { $0.isLast } && chunks.contains { !$0.isLast })
        #expect(Set(chunks.map(\.dimensions.count)) == [1, 2, 3, 4])
        chunks.removeAll()

        let rowFlags = (0..<50).flatMap { _ -> [RowFlags] in
            if case .forward(let f) = generator.message(.forward) { f.rows.map(\.flags) } else { [] }
        }
        #expect(rowFlags.contains(.backfill) && rowFlags.contains([]))
    }
}
