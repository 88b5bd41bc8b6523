import StrataFormats
import StrataModel
import StrataTokenizer
import Testing

@testable import StrataTrain

/// Trained weights go back into inference form under the base file's names.
@Suite struct ExportTests {
    func trainedModel(_ directory: TemporaryDirectory) throws -> (LoadedModel, TrainableLlama<Float>) {
        let base = try LoadedModel.load(path: try TinyLlamaFile.write(seed: 41, in: directory))
        let model = try TrainableLlama<Float>(model: base)
        // Stand-in for training: move every weight a little.
        let noise = try TrainableLlama<Float>(shape: model.shape, seed: 42, scale: 0.05)
        for entry in model.layout.entries {
            let p = model.values(of: entry), n = noise.values(of: entry)
            for i in 0..<entry.count { p[i] += entry.isVector ? n[i] - 1 : n[i] }  // norm noise is 1 ± 0.1
        }
        return (base, model)
    }

    @Test func f32ExportReloadsBitIdenticalWithSortedExits() throws {
        let directory = try TemporaryDirectory()
        let (base, model) = try trainedModel(directory)
        let baseFile = try #require(base.gguf)
        let path = directory.path + "/trained.gguf"
        try model.writeGGUF(to: path, base: baseFile, sortedExits: [2, 3], type: .f32)
        let reloaded = try LoadedModel.load(path: path)
        #expect(reloaded.config.sortedExits == [2, 3])
        let file = try #require(reloaded.gguf)
        #expect(try file.metadata.ints("strata.exits") == [2, 3])
        #expect(file.tensors.map(\.name) == baseFile.tensors.map(\.name))
        #expect(file.tensor(named: "rope_freqs.weight").map { Array(file.data(of: $0)) }
            == baseFile.tensor(named: "rope_freqs.weight").map { Array(baseFile.data(of: $0)) })
        #expect(reloaded.tokenizer.spec == base.tokenizer.spec)
        #expect(reloaded.config.rope == base.config.rope)
        let again = try TrainableLlama<Float>(model: reloaded)
        let identical = again.parameterValues() == model.parameterValues()
        let changed = again.parameterValues() != (try TrainableLlama<Float>(model: base).parameterValues())
        #expect(identical && changed)
        let names = Set(model.exportedTensors().map(\.name))
        #expect(names.isSubset(of: Set(baseFile.tensors.map(\.name))) && names.count == model.layout.entries.count)
    }

    @Test func q8ExportQuantisesMatricesOnly() throws {
        let directory = try TemporaryDirectory()
        let (base, model) = try trainedModel(directory)
        let path = directory.path + "/trained-q8.gguf"
        try model.writeGGUF(to: path, base: try #require(base.gguf), sortedExits: [3], type: .q8_0)
        let reloaded = try LoadedModel.load(path: path)
        let file = try #require(reloaded.gguf)
        for info in file.tensors {
            let vector = info.dimensions.count == 1
            #expect(info.type == (vector ? .f32 : .q8_0), "\(info.name)")
        }
        #expect(try file.metadata.int("general.file_type") == 7)
        let again = try TrainableLlama<Float>(model: reloaded)
        for entry in model.layout.entries {
            let a = Array(again.values(of: entry)), b = Array(model.values(of: entry))
            let scale = b.reduce(0) { max($0, abs($1)) }
            let worst = zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
            #expect(worst <= scale / 100, "\(entry.name)")  // Q8_0 rounds to 1/127 of each block's maximum
        }
    }

    @Test func exportRefusesMismatchedBaseAndUnblockableRows() throws {
        let directory = try TemporaryDirectory()
        let (base, _) = try trainedModel(directory)
        let baseFile = try #require(base.gguf)
        let other = try TrainableLlama<Float>(shape: Tiny.shape(), seed: 1)
        #expect(throws: TrainError.self) {
            try other.writeGGUF(to: directory.path + "/x.gguf", base: baseFile, sortedExits: [3], type: .f32)
        }
        let model = try TrainableLlama<Float>(model: base)
        #expect(throws: TrainError.self) {
            try model.writeGGUF(to: directory.path + "/y.gguf", base: baseFile, sortedExits: [4], type: .f32)
        }
    }
}
