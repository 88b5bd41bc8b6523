import Foundation
import StrataFormats
import StrataKernels
import StrataModel
import StrataTokenizer
import StrataTestSupport
import Testing

/// The same tiny model as GGUF and as a Hugging Face folder must load to the same function.
@Suite struct LoaderAgreementTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-tiny-\(UUID().uuidString)").path

    @Test func ggufAndHuggingFaceGiveTheSameLogitsAndTokens() throws {
        let tiny = TinyModel(seed: 2024)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try tiny.writeGGUF(to: directory + "/tiny.gguf")
        try tiny.writeHuggingFace(to: directory + "/hf")
        let gguf = try LoadedModel.load(path: directory + "/tiny.gguf")
        let hf = try LoadedModel.load(path: directory + "/hf")
        #expect(gguf.config.rope.layout == .adjacentPairs && hf.config.rope.layout == .halves)
        #expect(gguf.config.sortedExits == [2, 3] && hf.config.sortedExits == [2, 3])
        #expect(gguf.config.tiedEmbeddings && hf.config.tiedEmbeddings)

        let text = " hello there, hello!"
        let ids = gguf.tokenizer.encode(text, addSpecial: false)
        #expect(ids == hf.tokenizer.encode(text, addSpecial: false))
        #expect(ids.contains(260))  // "Ġhello" merged

        let pool = ComputePool(threadCount: 2)
        var results: [[Int: [Float]]] = []
        for loaded in [gguf, hf] {
            let model = LlamaModel(model: loaded, pool: pool, exact: true)
            let cache = KVCache(layers: 0..<3, kvDimension: 32, limit: 256)
            results.append(try model.forward(tokens: ids, cache: cache, exits: [1, 2, 3], workspace: Workspace(config: loaded.config)))
        }
        for exit in [1, 2, 3] {
            let a = try #require(results[0][exit]), b = try #require(results[1][exit])
            #expect(approxEqual(a, b, rtol: 1e-5), "exit \(exit): \(maxAbsDifference(a, b))")
        }
        #expect(results[0][1] != results[0][3])
    }

    @Test func missingTensorIsNamed() throws {
        let tiny = TinyModel(seed: 1)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try tiny.writeHuggingFace(to: directory + "/hf")
        // Drop the config's layer count mismatch: claim 4 layers, the file has 3.
        let configURL = URL(fileURLWithPath: directory + "/hf/config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        config["num_hidden_layers"] = 4
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        #expect(throws: ModelError.missingTensor("model.layers.3.input_layernorm.weight")) {
            try LoadedModel.load(path: directory + "/hf")
        }
    }

    @Test func wrongFilesGiveClearErrors() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notGGUF = directory + "/text.gguf"
        try Data("hello, this is not a model".utf8).write(to: URL(fileURLWithPath: notGGUF))
        #expect(throws: ModelError.gguf(.badMagic(0x6c6c_6568))) { try LoadedModel.load(path: notGGUF) }
        #expect(throws: ModelError.notAModel(path: directory + "/absent", reason: "no such file or directory")) {
            try LoadedModel.load(path: directory + "/absent")
        }
        #expect(throws: ModelError.notAModel(path: directory, reason: "no config.json")) {
            try LoadedModel.load(path: directory)
        }
    }
}
