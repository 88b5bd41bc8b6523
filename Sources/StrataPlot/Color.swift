/// An opaque 8-bit sRGB colour.
public struct Color: Hashable, Sendable {
    /// Red, 0–255.
    public var red: UInt8
    /// Green, 0–255.
    public var green: UInt8
    /// Blue, 0–255.
    public var blue: UInt8

    /// Creates a colour from its three channels.
    /// - Parameters:
    ///   - red: Red, 0–255.
    ///   - green: Green, 0–255.
    ///   - blue: Blue, 0–255.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Creates a colour from a `0xRRGGBB` literal; bits above the low 24 are ignored.
    /// - Parameter rgb: The colour as `0xRRGGBB`.
    public init(rgb: UInt32) {
        self.init(red: UInt8((rgb >> 16) & 0xFF), green: UInt8((rgb >> 8) & 0xFF), blue: UInt8(rgb & 0xFF))
    }

    /// The series colours, used in order by series that set no colour of their own. Ten hues that stay
    /// distinguishable from each other and from the greys of text, axes and grid.
    public static let palette: [Color] = [
        Color(rgb: 0x1F77B4),  // blue
        Color(rgb: 0xE8710A),  // orange
        Color(rgb: 0x2CA02C),  // green
        Color(rgb: 0xD62728),  // red
        Color(rgb: 0x9467BD),  // purple
        Color(rgb: 0x8C564B),  // brown
        Color(rgb: 0xE377C2),  // pink
        Color(rgb: 0x17BECF),  // cyan
        Color(rgb: 0xBCBD22),  // olive
        Color(rgb: 0x393B79),  // navy
    ]

    /// The palette colour for the series at `index`, wrapping around after the last.
    /// - Parameter index: The series' position in its panel; negative values are treated as 0.
    /// - Returns: A colour from ``palette``.
    public static func palette(at index: Int) -> Color {
        palette[max(0, index) % palette.count]
    }

    /// Pure white, the background.
    public static let white = Color(rgb: 0xFFFFFF)
    /// Near-black, for text.
    public static let text = Color(rgb: 0x222222)
    /// Dark grey, for the plot frame, tick marks and unattached reference lines.
    public static let axis = Color(rgb: 0x555555)
    /// Light grey, for grid lines.
    public static let grid = Color(rgb: 0xE4E4E4)
    /// Mid grey, for secondary notes such as "no data".
    public static let muted = Color(rgb: 0x999999)
}
