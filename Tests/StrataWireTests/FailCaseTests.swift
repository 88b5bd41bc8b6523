import Foundation
import NIOCore
import StrataWire
import Testing

/// Inputs that once crashed or hung a fuzzer (`FuzzTesting/FailCases/`) are replayed through the same entry
/// points the fuzzers use, so a fixed bug stays fixed.
@Suite("Fuzzer fail cases")
struct FailCaseTests {
    static let files = RepositoryFiles.files(in: RepositoryFiles.failCases).filter { $0.lastPathComponent != "README.md" }

    @Test("replays without trapping", arguments: files.map(\.lastPathComponent))
    func replay(name: String) throws {
        let data = try Data(contentsOf: RepositoryFiles.failCases.appendingPathComponent(name))
        let bytes = [UInt8](data)
        #expect(WireFuzzing.parse(bytes).violations == [])
        #expect(WireFuzzing.handshake(bytes).violations == [])
    }

    @Test func theReplayDirectoryExists() {
        #expect(FileManager.default.fileExists(atPath: RepositoryFiles.failCases.path))
    }
}
