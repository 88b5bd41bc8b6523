import StrataFormats
import StrataKernels
import StrataTokenizer

/// Errors loading or running a model, each naming what was wrong and where.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case gguf(GGUFError)
    case safetensors(SafetensorsError)
    case tokenizer(TokenizerError)
    case kernel(KernelError)
    case notAModel(path: String, reason: String)
    case unsupportedArchitecture(String)
    case missingMetadata(String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unsupportedTensorType(tensor: String, type: GGMLType)
    case unsupportedRopeScaling(String)
    case invalidExit(Int, layerCount: Int)
    case tokenOutOfRange(Int, vocabularySize: Int)
    case contextOverflow(needed: Int, limit: Int)
    case emptyPrompt
    case cacheGap(layer: Int, position: Int, depth: Int)
    case invalidBatch(String)

    public var description: String {
        switch self {
        case .gguf(let e): e.description
        case .safetensors(let e): e.description
        case .tokenizer(let e): "\(e)"
        case .kernel(let e): e.description
        case .notAModel(let path, let reason): "\(path) is not a model: \(reason)"
        case .unsupportedArchitecture(let a): "unsupported architecture \"\(a)\" (supported: llama)"
        case .missingMetadata(let k): "model metadata \"\(k)\" is missing"
        case .invalidMetadata(let k, let r): "model metadata \"\(k)\" is invalid: \(r)"
        case .missingTensor(let t): "tensor \"\(t)\" is missing from the model file"
        case .shapeMismatch(let t, let e, let a): "tensor \"\(t)\" has shape \(a), expected \(e)"
        case .unsupportedTensorType(let t, let type): "tensor \"\(t)\" has type \(type), which Strata cannot compute with"
        case .unsupportedRopeScaling(let s): "unsupported RoPE scaling \"\(s)\" (supported: none, linear, llama3)"
        case .invalidExit(let k, let l): "exit \(k) is not a layer of this model (1…\(l))"
        case .tokenOutOfRange(let t, let v): "token id \(t) is outside the vocabulary (0…\(v - 1))"
        case .contextOverflow(let n, let limit): "sequence needs \(n) positions, more than the context limit \(limit)"
        case .emptyPrompt: "the prompt is empty"
        case .cacheGap(let layer, let position, let depth):
            "block \(layer) has no keys for position \(position) (filled to depth \(depth)): "
                + "positions that exited earlier must be backfilled before a deeper step"
        case .invalidBatch(let reason): "invalid step: \(reason)"
        }
    }
}
