/// A message payload that reads and writes itself field by field, in the order `proto/wire.md` lists.
protocol PayloadCodable {
    /// The header kind of frames carrying this payload.
    static var kind: MessageKind { get }
    /// Reads every field; the caller checks for trailing bytes.
    init(from reader: inout PayloadReader) throws(WireError)
    /// Writes every field, refusing values the reader would refuse.
    func encode(to writer: inout PayloadWriter) throws(WireError)
}
