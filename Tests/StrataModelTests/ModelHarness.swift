import Foundation
import StrataKernels
import StrataModel
import StrataTestSupport

/// Loads the default model once per process for the model-level tests.
enum ModelHarness {
    /// nil when the model is not installed (and not required).
    static let loaded: LoadedModel? = {
        guard let path = ModelFixture.path() else { return nil }
        return try? LoadedModel.load(path: path)
    }()

    static func model(exact: Bool = true, threads: Int = 2) -> LlamaModel? {
        loaded.map { LlamaModel(model: $0, pool: ComputePool(threadCount: threads), exact: exact) }
    }

    static func freshCache(_ model: LlamaModel) -> KVCache {
        KVCache(layers: 0..<model.config.layerCount, kvDimension: model.config.kvDimension, limit: 4096)
    }
}
