/// One row of a forward step: a position of one sequence, entering the blocks at `firstLayer`.
///
/// New tokens enter at layer 0. A position that earlier stopped at a shallow exit re-enters at
/// its depth, carrying the hidden state it had there, so that deeper layers get its keys and
/// values before a deeper token attends to it (backfill).
public struct BlockRow: Sendable, Equatable, Hashable {
    /// Index of the row's sequence in the step's cache list.
    public var sequence: Int
    public var position: Int
    /// 0-based block at which the row joins the step.
    public var firstLayer: Int

    public init(sequence: Int, position: Int, firstLayer: Int = 0) {
        self.sequence = sequence
        self.position = position
        self.firstLayer = firstLayer
    }
}
