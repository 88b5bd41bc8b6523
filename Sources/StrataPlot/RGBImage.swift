/// A raster of opaque 8-bit RGB pixels, stored row by row from the top, three bytes per pixel.
public struct RGBImage: Equatable, Sendable {
    /// The largest width or height accepted: 16384² × 3 bytes stays far below PNG's 2³¹ − 1 chunk limit.
    public static let maximumSide = 16_384

    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// The pixels: (height, width, 3) row-major, red first.
    public private(set) var bytes: [UInt8]

    /// Creates an image filled with one colour.
    /// - Parameters:
    ///   - width: Width in pixels, `1...maximumSide`.
    ///   - height: Height in pixels, `1...maximumSide`.
    ///   - background: The fill colour.
    /// - Throws: `PlotError.invalidSize` when a side is out of range.
    public init(width: Int, height: Int, background: Color = .white) throws(PlotError) {
        guard (1...Self.maximumSide).contains(width), (1...Self.maximumSide).contains(height) else {
            throw .invalidSize(width: width, height: height)
        }
        self.width = width
        self.height = height
        var bytes = [UInt8](repeating: 0, count: width * height * 3)  // sides bounded above, so no overflow
        for offset in stride(from: 0, to: bytes.count, by: 3) {
            bytes[offset] = background.red
            bytes[offset + 1] = background.green
            bytes[offset + 2] = background.blue
        }
        self.bytes = bytes
    }

    /// The colour of one pixel; reading outside the image gives `nil` and writing there does nothing.
    /// - Parameters:
    ///   - x: Column, 0 at the left.
    ///   - y: Row, 0 at the top.
    public subscript(x: Int, y: Int) -> Color? {
        get {
            guard x >= 0, x < width, y >= 0, y < height else { return nil }
            let offset = (y * width + x) * 3
            return Color(red: bytes[offset], green: bytes[offset + 1], blue: bytes[offset + 2])
        }
        set {
            guard let color = newValue, x >= 0, x < width, y >= 0, y < height else { return }
            let offset = (y * width + x) * 3
            bytes[offset] = color.red
            bytes[offset + 1] = color.green
            bytes[offset + 2] = color.blue
        }
    }

    /// Encodes the image as a PNG: 8-bit truecolour, no interlace, zlib-compressed image data.
    /// - Returns: The bytes of a complete PNG file.
    /// - Throws: `PlotError.compressionFailed` if zlib reports an error.
    public func png() throws(PlotError) -> [UInt8] {
        try PNGEncoder.encode(self)
    }
}
