import Foundation
import Testing

@testable import StrataTrain

/// Damaged checkpoints give a clear error instead of a crash or a silently wrong model.
@Suite struct CheckpointTests {
    func saved() throws -> (TemporaryDirectory, String, Data, [TrainingExample]) {
        let directory = try TemporaryDirectory()
        let examples = Tiny.examples([6, 7, 8], seed: 31)
        var c = TrainingConfig(method: .sft, sortedExits: [2, 3], totalSteps: 5)
        c.seed = UInt64.max - 12345  // seeds survive the JSON header exactly
        let trainer = try Trainer(model: try TrainableLlama<Float>(shape: Tiny.shape(), seed: 32), examples: examples, config: c)
        _ = try trainer.step()
        let path = directory.path + "/model.ckpt"
        try trainer.saveCheckpoint(to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return (directory, path, data, examples)
    }

    func readError(_ bytes: Data, in directory: TemporaryDirectory) -> TrainError? {
        let path = directory.path + "/damaged-\(UUID().uuidString).ckpt"
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        do {
            _ = try Checkpoint.read(from: path)
            return nil
        } catch {
            return error
        }
    }

    @Test func roundTripsHeaderAndLayout() throws {
        let (directory, path, data, examples) = try saved()
        defer { withExtendedLifetime(directory) {} }
        let checkpoint = try Checkpoint.read(from: path)
        #expect(checkpoint.header.step == 1)
        #expect(checkpoint.header.config.seed == UInt64.max - 12345)
        #expect(checkpoint.header.config.exits == [3])
        #expect(checkpoint.header.shape == Tiny.shape())
        #expect(checkpoint.header.exampleCount == examples.count)
        #expect(data.prefix(8) == Data("STRATACK".utf8))
        #expect(data.count == 24 + (Int(data[12]) | Int(data[13]) << 8) + 12 * checkpoint.count + 4)
        // No temporary file is left beside it.
        let left = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        #expect(left == ["model.ckpt"])
    }

    @Test func truncatedFilesAreReportedAsTruncated() throws {
        let (directory, _, data, _) = try saved()
        for length in [0, 10, 27, 40, data.count / 2, data.count - 1] {
            let error = readError(data.prefix(length), in: directory)
            guard case .truncatedCheckpoint(_, let expected, let actual) = error else {
                Issue.record("length \(length): \(String(describing: error))")
                continue
            }
            #expect(actual == length && expected > length)
        }
    }

    @Test func damagedBytesAreCaughtByTheChecksum() throws {
        let (directory, _, data, _) = try saved()
        for offset in [30, data.count / 2, data.count - 6, data.count - 1] {
            var damaged = data
            damaged[offset] ^= 0x10
            let error = readError(damaged, in: directory)
            guard case .corruptCheckpoint(_, let reason) = error else {
                Issue.record("offset \(offset): \(String(describing: error))")
                continue
            }
            #expect(reason.contains("checksum"))
        }
    }

    @Test func wrongMagicVersionAndTrailingBytesAreCorrupt() throws {
        let (directory, _, data, _) = try saved()
        var magic = data
        magic[0] = UInt8(ascii: "X")
        var version = data
        version[8] = 9
        let cases: [(Data, String)] = [(magic, "magic"), (version, "version"), (data + Data([0, 0]), "after the checksum")]
        for (bytes, expected) in cases {
            guard case .corruptCheckpoint(_, let reason) = readError(bytes, in: directory) else {
                Issue.record("expected a corrupt-checkpoint error mentioning \(expected)")
                continue
            }
            #expect(reason.contains(expected))
        }
        // A huge parameter count is bounded by the file size before anything is allocated.
        var huge = data
        for i in 16..<24 { huge[i] = 0xFF }
        guard case .truncatedCheckpoint = readError(huge, in: directory) else {
            Issue.record("a huge parameter count was not reported as truncation")
            return
        }
        #expect(throws: TrainError.self) { try Checkpoint.read(from: directory.path + "/missing.ckpt") }
        #expect("\(TrainError.truncatedCheckpoint(path: "a", expectedBytes: 9, actualBytes: 2))".contains("truncated"))
    }
}
