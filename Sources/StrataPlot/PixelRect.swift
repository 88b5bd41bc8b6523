/// An axis-aligned rectangle of whole pixels; `x` grows rightwards and `y` downwards from the top-left corner.
public struct PixelRect: Equatable, Sendable {
    /// Leftmost column.
    public var x: Int
    /// Top row.
    public var y: Int
    /// Width in pixels; a rectangle with zero or negative width holds no pixels.
    public var width: Int
    /// Height in pixels; a rectangle with zero or negative height holds no pixels.
    public var height: Int

    /// Creates a rectangle from its top-left corner and size.
    /// - Parameters:
    ///   - x: Leftmost column.
    ///   - y: Top row.
    ///   - width: Width in pixels.
    ///   - height: Height in pixels.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// One past the rightmost column.
    public var maxX: Int { x + width }
    /// One past the bottom row.
    public var maxY: Int { y + height }

    /// Whether the pixel at (`px`, `py`) lies inside.
    /// - Parameters:
    ///   - px: Column.
    ///   - py: Row.
    /// - Returns: `true` when the pixel is inside the rectangle.
    public func contains(_ px: Int, _ py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// The part of this rectangle that also lies in `other`; empty (zero size) when they do not meet.
    func intersection(_ other: PixelRect) -> PixelRect {
        let left = max(x, other.x), top = max(y, other.y)
        let right = min(maxX, other.maxX), bottom = min(maxY, other.maxY)
        return PixelRect(x: left, y: top, width: max(0, right - left), height: max(0, bottom - top))
    }

    /// Whether the two rectangles share at least one pixel.
    func intersects(_ other: PixelRect) -> Bool {
        let overlap = intersection(other)
        return overlap.width > 0 && overlap.height > 0
    }
}
