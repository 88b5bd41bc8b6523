/// One micro-batch travelling down the chain: coordinator → first stage, and stage → next stage.
///
/// Each row has passed its own `joinLayer` blocks (a backfilled position re-enters at the depth where it last
/// stopped; a new token at 0); `fromLayer` is the least of them. The receiving stage runs its blocks from each
/// row's join layer and either forwards the batch (join layers advanced) or, when it holds block `exitLayer`,
/// stops there and returns a `ForwardResult` to the coordinator.
public struct Forward: Equatable, Sendable {
    /// Bytes per row descriptor: sequence id u64 | position u32 | join layer u32 | flags u8.
    public static let rowDescriptorSize = 17

    /// The scheduler's id of this step; echoed in `ForwardResult`.
    public var stepID: UInt64
    /// The least `joinLayer` of the rows (0 when any row is an embedding).
    public var fromLayer: UInt32
    /// 1-based block count at which to stop; fromLayer < exitLayer.
    public var exitLayer: UInt32
    /// One descriptor per hidden row, in the same order; at least one.
    public var rows: [ForwardRow]
    /// (rows.count, hiddenSize), row-major, in the assigned activation dtype.
    public var hidden: WireTensor

    public init(stepID: UInt64, fromLayer: UInt32, exitLayer: UInt32, rows: [ForwardRow], hidden: WireTensor) {
        self.stepID = stepID
        self.fromLayer = fromLayer
        self.exitLayer = exitLayer
        self.rows = rows
        self.hidden = hidden
    }
}

/// Which token a hidden row belongs to.
public struct ForwardRow: Hashable, Sendable {
    public var sequenceID: UInt64
    /// 0-based position of the token in its sequence; its keys and values are written at this position.
    public var position: UInt32
    /// Blocks already applied to this row's hidden state; it joins the step at this block.
    /// fromLayer ≤ joinLayer ≤ exitLayer.
    public var joinLayer: UInt32
    public var flags: RowFlags

    public init(sequenceID: UInt64, position: UInt32, joinLayer: UInt32 = 0, flags: RowFlags = []) {
        self.sequenceID = sequenceID
        self.position = position
        self.joinLayer = joinLayer
        self.flags = flags
    }
}

/// Per-row options of a `Forward`. Unknown bits are a protocol error.
public struct RowFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The row only fills the KV cache of the layers it passes (a position that a shallower step skipped, or a
    /// prompt token before the last); its output is not returned in `ForwardResult`.
    public static let backfill = RowFlags(rawValue: 1 << 0)

    /// Every bit v1 defines.
    public static let known: RowFlags = [.backfill]
}

extension Forward: PayloadCodable {
    static let kind = MessageKind.forward

    init(from r: inout PayloadReader) throws(WireError) {
        stepID = try r.integer("stepID")
        fromLayer = try r.integer("fromLayer")
        exitLayer = try r.integer("exitLayer")
        guard fromLayer < exitLayer else {
            throw .invalidValue(kind: .forward, field: "exitLayer", value: UInt64(exitLayer))
        }
        let count = try r.count("rowCount", limit: r.limits.maxRowsPerBatch, elementSize: Self.rowDescriptorSize)
        guard count > 0 else { throw .invalidValue(kind: .forward, field: "rowCount", value: 0) }
        var rows = [ForwardRow]()
        rows.reserveCapacity(count)  // bounded by the bytes left, checked by `count`
        for _ in 0..<count {
            let sequenceID = try r.integer("rows.sequenceID", as: UInt64.self)
            let position = try r.integer("rows.position", as: UInt32.self)
            let joinLayer = try r.integer("rows.joinLayer", as: UInt32.self)
            guard joinLayer >= fromLayer, joinLayer <= exitLayer else {
                throw .invalidValue(kind: .forward, field: "rows.joinLayer", value: UInt64(joinLayer))
            }
            let flags = RowFlags(rawValue: try r.integer("rows.flags"))
            guard RowFlags.known.isSuperset(of: flags) else {
                throw .invalidValue(kind: .forward, field: "rows.flags", value: UInt64(flags.rawValue))
            }
            rows.append(ForwardRow(sequenceID: sequenceID, position: position, joinLayer: joinLayer, flags: flags))
        }
        self.rows = rows
        hidden = try r.hiddenTensor(rowCount: count)
    }

    func encode(to w: inout PayloadWriter) throws(WireError) {
        guard fromLayer < exitLayer else {
            throw .invalidValue(kind: .forward, field: "exitLayer", value: UInt64(exitLayer))
        }
        guard !rows.isEmpty else { throw .invalidValue(kind: .forward, field: "rowCount", value: 0) }
        w.integer(stepID)
        w.integer(fromLayer)
        w.integer(exitLayer)
        try w.count(rows.count, field: "rowCount", limit: w.limits.maxRowsPerBatch)
        for row in rows {
            guard RowFlags.known.isSuperset(of: row.flags) else {
                throw .invalidValue(kind: .forward, field: "rows.flags", value: UInt64(row.flags.rawValue))
            }
            guard row.joinLayer >= fromLayer, row.joinLayer <= exitLayer else {
                throw .invalidValue(kind: .forward, field: "rows.joinLayer", value: UInt64(row.joinLayer))
            }
            w.integer(row.sequenceID)
            w.integer(row.position)
            w.integer(row.joinLayer)
            w.integer(row.flags.rawValue)
        }
        try w.hiddenTensor(hidden, rowCount: rows.count)
    }
}

// MARK: - Hidden tensor rules shared by Forward and ForwardResult

extension PayloadReader {
    /// The hidden tensor: as many rows as descriptors, at least one column.
    mutating func hiddenTensor(rowCount: Int) throws(WireError) -> WireTensor {
        let tensor = try tensor("hidden")
        guard tensor.rows == rowCount else {
            throw .rowCountMismatch(kind: kind, rows: UInt64(rowCount), tensorRows: UInt64(tensor.rows))
        }
        guard tensor.columns > 0 else { throw .invalidValue(kind: kind, field: "hidden.columns", value: 0) }
        return tensor
    }
}

extension PayloadWriter {
    mutating func hiddenTensor(_ tensor: WireTensor, rowCount: Int) throws(WireError) {
        guard tensor.rows == rowCount else {
            throw .rowCountMismatch(kind: kind, rows: UInt64(rowCount), tensorRows: UInt64(tensor.rows))
        }
        guard tensor.columns > 0 else { throw .invalidValue(kind: kind, field: "hidden.columns", value: 0) }
        self.tensor(tensor)
    }
}
