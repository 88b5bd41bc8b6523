import Foundation
import StrataApp
import Testing

@Suite struct ClusterTopologyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(arguments: ["local-2.json", "hosts-3.json"])
    func shippedExamplesParse(name: String) throws {
        let topology = try ClusterTopology.load(path: Self.repository.appendingPathComponent("cluster/" + name).path)
        #expect(!topology.workers.isEmpty)
        #expect(topology.model == "models/SmolLM2-135M-Instruct.SoFT-last95.Q8_0.gguf")
    }

    @Test func localExampleHasAnExplicitSplit() throws {
        let topology = try ClusterTopology.load(path: Self.repository.appendingPathComponent("cluster/local-2.json").path)
        #expect(try topology.split() == [0..<15, 15..<30])
        #expect(topology.workers.map(\.address) == ["127.0.0.1:7601", "127.0.0.1:7602"])
    }

    @Test func sparesAreReadInOrder() throws {
        let text = #"{ "workers": [ { "host": "a", "port": 1 } ], "spares": [ { "host": "s", "port": 2 }, { "host": "t", "port": 3 } ] }"#
        #expect(try ClusterTopology.parse(text).spares?.map(\.address) == ["s:2", "t:3"])
    }

    @Test func commentsInsideStringsSurvive() throws {
        let text = #"{ "workers": [ { "host": "a//b", "port": 1 } ] } // trailing"#
        #expect(try ClusterTopology.parse(text).workers[0].host == "a//b")
    }

    @Test(arguments: [
        (#"{ "workers": [] }"#, "no workers"),
        (#"{ "workers": [ { "host": "h", "port": 0 } ] }"#, "out of range"),
        (#"{ "workers": [ { "host": "h", "port": 1 }, { "host": "h", "port": 1 } ] }"#, "appears twice"),
        (#"{ "workers": [ { "host": "h", "port": 1, "layers": "0-5" }, { "host": "i", "port": 1 } ] }"#, "every worker"),
        (#"{ "workers": [ { "host": "h", "port": 1, "layers": "0-5" }, { "host": "i", "port": 1, "layers": "6-9" } ] }"#, "not contiguous"),
        (#"{ "workers": [ { "host": "h" } ] }"#, "missing \"port\""),
        (#"{ "workers": [ { "host": "h", "port": 1 } ], "spares": [ { "host": "h", "port": 1 } ] }"#, "appears twice"),
        (#"{ "workers": [ { "host": "h", "port": 1 } ], "spares": [ { "host": "s", "port": 1, "layers": "0-5" } ] }"#, "names layers"),
        (#"{ "workers": "#, "not valid JSON"),
    ])
    func badFilesSayWhatIsWrong(text: String, expected: String) {
        do {
            _ = try ClusterTopology.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func splitParsing() throws {
        #expect(try parseSplit("0-10,10-20,20-30") == [0..<10, 10..<20, 20..<30])
        #expect(throws: AppError.self) { try parseSplit("1-10") }
        #expect(throws: AppError.self) { try parseSplit("0-10,12-30") }
        #expect(throws: AppError.self) { try parseSplit("0-0") }
    }
}
