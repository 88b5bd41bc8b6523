/// Constants of the frame layout; `proto/wire.md` is the normative description.
public enum WireFormat {
    /// "ST", the first two bytes of every frame.
    public static let magic: UInt16 = 0x5354
    /// The version this build writes, and the only one it reads.
    public static let version: UInt8 = 1
    /// The versions `parse` accepts in a frame header.
    public static let supportedVersions: ClosedRange<UInt8> = 1...1
    /// magic u16 | version u8 | kind u8 | flags u16 | reserved u16 | request id u64 | payload length u32.
    public static let headerSize = 20
}
