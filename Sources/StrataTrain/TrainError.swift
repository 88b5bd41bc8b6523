import StrataFormats
import StrataKernels
import StrataModel

/// Errors from training: bad configuration, data, checkpoints and exports, each naming what
/// was wrong and where.
public enum TrainError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A model feature the trainer does not handle.
    case unsupportedModel(String)
    case invalidConfig(String)
    case invalidBatch(String)
    /// A JSONL line that is not an instruction example.
    case invalidData(source: String, line: Int, reason: String)
    case noTrainableExamples(source: String, skipped: Int)
    case chatTemplate(String)
    /// A checkpoint that cannot be read: the reason says which check failed.
    case corruptCheckpoint(path: String, reason: String)
    case truncatedCheckpoint(path: String, expectedBytes: Int, actualBytes: Int)
    case checkpointMismatch(path: String, reason: String)
    case io(path: String, reason: String)
    case export(String)
    case model(ModelError)
    /// The gradient of a step was not finite; the parameters were left unchanged.
    case nonFiniteGradient(step: Int)

    /// A sentence for people.
    public var description: String {
        switch self {
        case .unsupportedModel(let r): "the trainer does not support this model: \(r)"
        case .invalidConfig(let r): "invalid training configuration: \(r)"
        case .invalidBatch(let r): "invalid training batch: \(r)"
        case .invalidData(let s, let l, let r): "\(s):\(l): \(r)"
        case .noTrainableExamples(let s, let k):
            "\(s): no example has a response token within the sequence length (\(k) skipped)"
        case .chatTemplate(let r): "chat template: \(r)"
        case .corruptCheckpoint(let p, let r): "checkpoint \(p) is corrupt: \(r)"
        case .truncatedCheckpoint(let p, let e, let a):
            "checkpoint \(p) is truncated: \(a) bytes, expected \(e)"
        case .checkpointMismatch(let p, let r): "checkpoint \(p) does not fit: \(r)"
        case .io(let p, let r): "\(p): \(r)"
        case .export(let r): "export: \(r)"
        case .model(let e): e.description
        case .nonFiniteGradient(let step):
            "step \(step): the gradient is not finite (try a lower learning rate); parameters left unchanged"
        }
    }
}
