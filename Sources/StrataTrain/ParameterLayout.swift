import StrataModel

/// Where each tensor lives in the one contiguous parameter buffer (and, at the same offsets, the
/// gradient and optimizer buffers), in the llm.c style: one allocation, a table of views.
///
/// Tensors carry their GGUF names (the `TensorRole.ggufName` templates), so an export writes
/// exactly the names the base file used.
public struct ParameterLayout: Sendable, Equatable {
    /// One tensor: a matrix (rows, columns) row-major as stored (out, in), or a vector (1, n).
    public struct Entry: Sendable, Equatable {
        /// The GGUF name, e.g. `blk.3.attn_q.weight`.
        public var name: String
        /// What the tensor is in the architecture table.
        public var role: TensorRole
        /// The block, for per-layer roles.
        public var layer: Int?
        /// Rows (output features); 1 for a vector.
        public var rows: Int
        /// Columns (input features).
        public var columns: Int
        /// Where it starts in the parameter buffer.
        public var offset: Int
        /// Values.
        public var count: Int { rows * columns }
        /// Norm weights are vectors; everything else is a matrix.
        public var isVector: Bool { role == .attentionNorm || role == .ffnNorm || role == .outputNorm }
        /// AdamW's weight decay applies to matrices, not to norm weights.
        public var decays: Bool { !isVector }
        /// ggml order, as GGUF stores it: the row length first.
        public var ggufDimensions: [Int] { isVector ? [columns] : [columns, rows] }
    }

    /// Every tensor, in buffer order.
    public let entries: [Entry]
    /// Total scalars.
    public let count: Int
    private let index: [String: Int]

    /// Offsets of one block's tensors.
    struct Block {
        var attentionNorm, query, key, value, attentionOutput, ffnNorm, gate, up, down: Int
    }
    let blocks: [Block]
    let embedding: Int
    let output: Int
    let outputNorm: Int

    /// The tensors of `shape`, in file order: embedding, output (untied only), output norm,
    /// then each block's attention norm, Q, K, V, O, FFN norm, gate, up, down.
    public init(shape: ModelShape) {
        var entries: [Entry] = []
        var offset = 0
        func add(_ role: TensorRole, _ layer: Int?) -> Int {
            let (rows, columns) = Self.shape(of: role, shape)
            let name = layer.map { role.ggufName.replacing("%d", with: String($0)) } ?? role.ggufName
            entries.append(Entry(name: name, role: role, layer: layer, rows: rows, columns: columns, offset: offset))
            offset += rows * columns
            return offset - rows * columns
        }
        embedding = add(.embedding, nil)
        output = shape.tiedEmbeddings ? embedding : add(.output, nil)
        outputNorm = add(.outputNorm, nil)
        var blocks: [Block] = []
        for l in 0..<shape.layerCount {
            blocks.append(
                Block(
                    attentionNorm: add(.attentionNorm, l), query: add(.query, l), key: add(.key, l),
                    value: add(.value, l), attentionOutput: add(.attentionOutput, l), ffnNorm: add(.ffnNorm, l),
                    gate: add(.gate, l), up: add(.up, l), down: add(.down, l)))
        }
        self.blocks = blocks
        self.entries = entries
        count = offset
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    /// The entry named `name` (a GGUF tensor name), if the model has it.
    public func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// (rows, columns) of a role; vectors are (1, n).
    static func shape(of role: TensorRole, _ s: ModelShape) -> (Int, Int) {
        switch role {
        case .embedding, .output: (s.vocabularySize, s.hiddenSize)
        case .outputNorm, .attentionNorm, .ffnNorm: (1, s.hiddenSize)
        case .query: (s.queryDimension, s.hiddenSize)
        case .key, .value: (s.kvDimension, s.hiddenSize)
        case .attentionOutput: (s.hiddenSize, s.queryDimension)
        case .gate, .up: (s.intermediateSize, s.hiddenSize)
        case .down: (s.hiddenSize, s.intermediateSize)
        }
    }

    public static func == (a: ParameterLayout, b: ParameterLayout) -> Bool { a.entries == b.entries }
}
