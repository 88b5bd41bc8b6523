import CStrataKernels
import StrataFormats
import StrataKernels

/// One transformer block's weights.
public struct BlockWeights: Sendable {
    public let attentionNorm: [Float]  // (d,)
    public let query: WeightMatrix  // (heads·hd, d)
    public let key: WeightMatrix  // (kvHeads·hd, d)
    public let value: WeightMatrix  // (kvHeads·hd, d)
    public let attentionOutput: WeightMatrix  // (d, heads·hd)
    public let ffnNorm: [Float]  // (d,)
    public let gate: WeightMatrix  // (ff, d)
    public let up: WeightMatrix  // (ff, d)
    public let down: WeightMatrix  // (d, ff)

    public var byteCount: Int {
        [query, key, value, attentionOutput, gate, up, down].reduce(0) { $0 + $1.byteCount } + 8 * attentionNorm.count
    }

    /// The same block with every matrix copied to NUMA node `node`.
    func placed(onNode node: Int) -> BlockWeights {
        BlockWeights(
            attentionNorm: attentionNorm, query: query.placed(onNode: node), key: key.placed(onNode: node),
            value: value.placed(onNode: node), attentionOutput: attentionOutput.placed(onNode: node), ffnNorm: ffnNorm,
            gate: gate.placed(onNode: node), up: up.placed(onNode: node), down: down.placed(onNode: node))
    }
}

/// All weights of a LLaMA model, read in place from the file where the format allows.
///
/// `blocks` may hold only a range of layers (a pipeline stage); the others are nil.
public struct LlamaWeights: Sendable {
    public let embedding: WeightMatrix  // (vocab, d)
    public let outputNorm: [Float]  // (d,)
    public let output: WeightMatrix  // (vocab, d); the embedding itself when tied
    public let blocks: [BlockWeights?]

    /// These weights copied into memory on NUMA node `node` (a pinned process reads them every
    /// token; the file mapping's pages may sit on any node).
    public func placed(onNode node: Int) -> LlamaWeights {
        let embeddingCopy = embedding.placed(onNode: node)
        let tied = output.base == embedding.base
        return LlamaWeights(
            embedding: embeddingCopy, outputNorm: outputNorm, output: tied ? embeddingCopy : output.placed(onNode: node),
            blocks: blocks.map { $0?.placed(onNode: node) })
    }

    /// Binds tensors by name, checking each shape against the configuration.
    /// - Parameter layers: the blocks to bind (all by default).
    static func bind(
        config: LlamaConfig, format: ModelFormat, layers: Range<Int>? = nil,
        lookup: (String) -> TensorSource?
    ) throws(ModelError) -> LlamaWeights {
        func tensor(_ role: TensorRole, _ layer: Int?) throws(ModelError) -> TensorSource {
            let name = role.name(format: format, layer: layer)
            guard let source = lookup(name) else { throw .missingTensor(name) }
            let (rows, columns) = role.shape(config)
            let expected = format == .gguf ? (rows == 1 ? [columns] : [columns, rows]) : (rows == 1 ? [columns] : [rows, columns])
            guard source.shape == expected else { throw .shapeMismatch(tensor: name, expected: expected, actual: source.shape) }
            return source
        }
        func matrix(_ role: TensorRole, _ layer: Int?) throws(ModelError) -> WeightMatrix {
            let source = try tensor(role, layer)
            let (rows, columns) = role.shape(config)
            guard source.type.isComputeSupported else { throw .unsupportedTensorType(tensor: source.name, type: source.type) }
            do {
                return try WeightMatrix(type: source.type, rows: rows, columns: columns, bytes: source.bytes, owner: source.owner)
            } catch { throw .kernel(error) }
        }
        func vector(_ role: TensorRole, _ layer: Int?) throws(ModelError) -> [Float] {
            let source = try tensor(role, layer)
            return try source.floats()
        }

        let embedding = try matrix(.embedding, nil)
        let output = config.tiedEmbeddings ? embedding : try matrix(.output, nil)
        let range = layers ?? 0..<config.layerCount
        var blocks: [BlockWeights?] = Array(repeating: nil, count: config.layerCount)
        for layer in range {
            blocks[layer] = BlockWeights(
                attentionNorm: try vector(.attentionNorm, layer),
                query: try matrix(.query, layer),
                key: try matrix(.key, layer),
                value: try matrix(.value, layer),
                attentionOutput: try matrix(.attentionOutput, layer),
                ffnNorm: try vector(.ffnNorm, layer),
                gate: try matrix(.gate, layer),
                up: try matrix(.up, layer),
                down: try matrix(.down, layer))
        }
        return LlamaWeights(embedding: embedding, outputNorm: try vector(.outputNorm, nil), output: output, blocks: blocks)
    }
}

/// A tensor as a file presents it, before binding.
struct TensorSource {
    let name: String
    /// In the file's own order (GGUF: row length first; safetensors: rows first).
    let shape: [Int]
    let type: GGMLType
    let bytes: UnsafeRawBufferPointer
    let owner: AnyObject

    func floats() throws(ModelError) -> [Float] {
        let count = shape.reduce(1, *)
        guard type == .f32 || type == .f16 || type == .bf16 else { throw .unsupportedTensorType(tensor: name, type: type) }
        return [Float](unsafeUninitializedCapacity: count) { buffer, n in
            if let base = buffer.baseAddress, count > 0 {
                _ = st_dequantize_row(Int32(type.rawValue), bytes.baseAddress, base, Int64(count))
            }
            n = count
        }
    }
}
