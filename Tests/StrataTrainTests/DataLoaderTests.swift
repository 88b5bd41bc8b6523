import Testing

@testable import StrataTrain

@Suite struct DataLoaderTests {
    let examples = Tiny.examples([5, 9, 3, 7, 4, 6, 8, 2, 5, 6], seed: 41)

    @Test func everyExampleOncePerEpochInASeededOrder() throws {
        let a = DataLoader.order(count: 10, seed: 1, epoch: 0)
        #expect(a.sorted() == Array(0..<10))
        #expect(a == DataLoader.order(count: 10, seed: 1, epoch: 0))
        #expect(a != DataLoader.order(count: 10, seed: 2, epoch: 0))
        #expect(a != DataLoader.order(count: 10, seed: 1, epoch: 1))
        #expect(DataLoader.order(count: 10, seed: 1, epoch: 0, shuffle: false) == Array(0..<10))

        var loader = try DataLoader(examples: examples, tokenBudget: 12, seed: 3)
        var seen: [[Int32]] = []
        while loader.cursor.epoch == 0 {
            let batch = loader.next()
            #expect(batch.count <= 12)
            for range in batch.sequences { seen.append(Array(batch.tokens[range])) }
        }
        // The last batch may reach into epoch 1; the first 10 sequences are epoch 0's.
        #expect(seen.prefix(10).map { $0 }.sorted { $0.lexicographicallyPrecedes($1) }
            == examples.map(\.tokens).sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func packsUpToTheBudgetWithPositionsRestarting() throws {
        var loader = try DataLoader(examples: examples, tokenBudget: 14, seed: 3, shuffle: false)
        let batch = loader.next()
        #expect(batch.sequences == [0..<5, 5..<14])
        #expect(batch.positions == (0..<5).map(Int32.init) + (0..<9).map(Int32.init))
        // Targets: positions whose next token is in the response half.
        #expect(batch.targetCount == examples[0].targetCount + examples[1].targetCount)
        #expect(loader.cursor == DataCursor(epoch: 0, position: 2))
        // An example larger than the budget travels alone.
        var tight = try DataLoader(examples: examples, tokenBudget: 4, seed: 3, shuffle: false)
        #expect(tight.next().sequences == [0..<5])
    }

    @Test func aRestoredCursorContinuesTheSameOrder() throws {
        var straight = try DataLoader(examples: examples, tokenBudget: 11, seed: 9)
        for _ in 0..<7 { _ = straight.next() }
        let cursor = straight.cursor
        let expected = (0..<9).map { _ in straight.next() }
        var resumed = try DataLoader(examples: examples, tokenBudget: 11, seed: 9, cursor: cursor)
        #expect((0..<9).map { _ in resumed.next() } == expected)
        #expect(throws: TrainError.self) {
            try DataLoader(examples: examples, tokenBudget: 11, seed: 9, cursor: DataCursor(epoch: 0, position: 11))
        }
        #expect(throws: TrainError.self) { try DataLoader(examples: [], tokenBudget: 11, seed: 9) }
    }

    @Test func fingerprintChangesWithTheData() throws {
        let a = try DataLoader(examples: examples, tokenBudget: 8, seed: 0).fingerprint
        var changed = examples
        changed[3].targetMask[2].toggle()
        #expect(a == (try DataLoader(examples: examples, tokenBudget: 99, seed: 5).fingerprint))
        #expect(a != (try DataLoader(examples: changed, tokenBudget: 8, seed: 0).fingerprint))
    }
}
