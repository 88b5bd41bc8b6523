/// Exit stage → coordinator: the hidden states of a step's rows after `layerReached` blocks, ready for the final
/// norm and the LM head. Backfill rows are left out.
public struct ForwardResult: Equatable, Sendable {
    /// Bytes per row descriptor: sequence id u64 | position u32.
    public static let rowDescriptorSize = 12

    /// The `Forward`'s step id.
    public var stepID: UInt64
    /// Blocks applied: the step's exit layer.
    public var layerReached: UInt32
    /// The non-backfill rows of the step, in their `Forward` order; may be empty when every row was backfill.
    public var rows: [RowID]
    /// (rows.count, hiddenSize), row-major, in the assigned activation dtype.
    public var hidden: WireTensor

    public init(stepID: UInt64, layerReached: UInt32, rows: [RowID], hidden: WireTensor) {
        self.stepID = stepID
        self.layerReached = layerReached
        self.rows = rows
        self.hidden = hidden
    }
}

/// A token: its sequence and position.
public struct RowID: Hashable, Sendable {
    public var sequenceID: UInt64
    public var position: UInt32

    public init(sequenceID: UInt64, position: UInt32) {
        self.sequenceID = sequenceID
        self.position = position
    }
}

extension ForwardResult: PayloadCodable {
    static let kind = MessageKind.forwardResult

    init(from r: inout PayloadReader) throws(WireError) {
        stepID = try r.integer("stepID")
        layerReached = try r.positive("layerReached")
        let count = try r.count("rowCount", limit: r.limits.maxRowsPerBatch, elementSize: Self.rowDescriptorSize)
        var rows = [RowID]()
        rows.reserveCapacity(count)  // bounded by the bytes left, checked by `count`
        for _ in 0..<count {
            let sequenceID = try r.integer("rows.sequenceID", as: UInt64.self)
            let position = try r.integer("rows.position", as: UInt32.self)
            rows.append(RowID(sequenceID: sequenceID, position: position))
        }
        self.rows = rows
        hidden = try r.hiddenTensor(rowCount: count)
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        w.integer(stepID)
        try w.positive(layerReached, field: "layerReached")
        try w.count(rows.count, field: "rowCount", limit: w.limits.maxRowsPerBatch)
        for row in rows {
            w.integer(row.sequenceID)
            w.integer(row.position)
        }
        try w.hiddenTensor(hidden, rowCount: rows.count)
    }
}
