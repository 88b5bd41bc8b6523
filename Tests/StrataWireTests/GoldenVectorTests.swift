import Foundation
import NIOCore
import StrataWire
import Testing

/// `proto/vectors/*.hex` are written by `proto/vectors/generate.py` straight from `proto/wire.md`; the Swift
/// encoder must reproduce them byte for byte, and parse them back.
@Suite("Golden frames")
struct GoldenVectorTests {
    static let names = (try? Fixtures.goldenFrames().map(\.name)) ?? []

    @Test func everyKindHasAVector() throws {
        let kinds = Set(try Fixtures.goldenFrames().map(\.frame.message.kind))
        #expect(kinds == Set(MessageKind.allCases))
        let files = Set(RepositoryFiles.files(in: RepositoryFiles.vectors, withExtension: "hex").map {
            $0.deletingPathExtension().lastPathComponent
        })
        #expect(files == Set(Self.names))
    }

    @Test("encoding matches the vector byte for byte", arguments: names)
    func encodingMatchesVector(name: String) throws {
        let frame = try #require(try Fixtures.goldenFrames().first { $0.name == name }?.frame)
        let expected = try vectorBytes(name)
        let actual = Array(try frame.encoded().readableBytesView)
        #expect(actual == expected, "\(name): got \(hexString(actual))")
    }

    @Test("the vector parses back to the message", arguments: names)
    func vectorParses(name: String) throws {
        let frame = try #require(try Fixtures.goldenFrames().first { $0.name == name }?.frame)
        var buffer = ByteBuffer(bytes: try vectorBytes(name))
        #expect(try Frame.parse(&buffer) == frame)
        #expect(buffer.readableBytes == 0)
    }

    @Test func handshakeVectorsCompleteAHandshake() throws {
        // The Welcome vector's proof must satisfy a coordinator that sent the Authenticate vector.
        var coordinator = CoordinatorHandshake(
            configuration: Fixtures.coordinatorConfiguration, challenge: Fixtures.coordinatorChallenge)
        for name in ["hello", "welcome"] {
            var buffer = ByteBuffer(bytes: try vectorBytes(name))
            let frame = try #require(try Frame.parse(&buffer))
            let action = coordinator.receive(frame.message)
            if name == "welcome" {
                guard case .establish(let peer) = action else {
                    Issue.record("expected establish, got \(action)")
                    return
                }
                #expect(peer.hello.name == "worker-a")
                #expect(peer.hasModelLocally)
            }
        }
    }

    private func vectorBytes(_ name: String) throws -> [UInt8] {
        let url = RepositoryFiles.vectors.appendingPathComponent(name + ".hex")
        return hexBytes(try String(contentsOf: url, encoding: .utf8))
    }
}
