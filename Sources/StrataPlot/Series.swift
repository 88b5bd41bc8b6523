/// How a series' points are drawn.
public enum SeriesStyle: Sendable {
    /// A 2-pixel (at text scale 1; 3 at scale 2) polyline through the points. A point with no finite
    /// neighbour gets a marker so that it stays visible.
    case line
    /// The polyline plus a filled round marker on every point.
    case lineAndMarkers
}

/// One named line in a panel.
///
/// Points are drawn in the order given, so sort them by `x` for a line over time. A point whose `x` or `y` is
/// NaN, infinite or of magnitude above `1e300` is skipped and breaks the line there, so a missing sample shows
/// as a gap rather than as a straight line across it.
public struct Series: Sendable {
    /// The legend text.
    public var label: String
    /// The data, in drawing order.
    public var points: [(x: Double, y: Double)]
    /// How the points are drawn.
    public var style: SeriesStyle
    /// The line colour; `nil` takes ``Color/palette(at:)`` for the series' position in its panel.
    public var color: Color?
    /// An optional horizontal line drawn dashed in the series' colour, such as a baseline this series is
    /// compared with. Its `color`, when set, overrides the series' colour.
    public var referenceLine: ReferenceLine?

    /// Creates a series from points.
    /// - Parameters:
    ///   - label: The legend text.
    ///   - points: The data, in drawing order.
    ///   - style: How the points are drawn.
    ///   - color: The line colour; `nil` takes the panel's next palette colour.
    ///   - referenceLine: An optional horizontal line belonging to this series.
    public init(
        _ label: String,
        points: [(x: Double, y: Double)],
        style: SeriesStyle = .line,
        color: Color? = nil,
        referenceLine: ReferenceLine? = nil
    ) {
        self.label = label
        self.points = points
        self.style = style
        self.color = color
        self.referenceLine = referenceLine
    }

    /// Creates a series from parallel arrays of coordinates; pairs are formed up to the shorter array.
    /// - Parameters:
    ///   - label: The legend text.
    ///   - x: The x coordinates.
    ///   - y: The y coordinates.
    ///   - style: How the points are drawn.
    ///   - color: The line colour; `nil` takes the panel's next palette colour.
    ///   - referenceLine: An optional horizontal line belonging to this series.
    public init(
        _ label: String,
        x: [Double],
        y: [Double],
        style: SeriesStyle = .line,
        color: Color? = nil,
        referenceLine: ReferenceLine? = nil
    ) {
        self.init(
            label,
            points: zip(x, y).map { (x: $0, y: $1) },
            style: style,
            color: color,
            referenceLine: referenceLine
        )
    }

    /// Creates a series whose x coordinates are the indices 0, 1, 2, … of `values`, as for a loss per step.
    /// - Parameters:
    ///   - label: The legend text.
    ///   - values: The y coordinates.
    ///   - style: How the points are drawn.
    ///   - color: The line colour; `nil` takes the panel's next palette colour.
    ///   - referenceLine: An optional horizontal line belonging to this series.
    public init(
        _ label: String,
        values: [Double],
        style: SeriesStyle = .line,
        color: Color? = nil,
        referenceLine: ReferenceLine? = nil
    ) {
        self.init(
            label,
            points: values.enumerated().map { (x: Double($0.offset), y: $0.element) },
            style: style,
            color: color,
            referenceLine: referenceLine
        )
    }
}

/// A labelled horizontal line across a panel, such as "objective p99" or "llama.cpp full depth".
///
/// It is drawn dashed across the whole plot area. Its label goes just above or below the line, at the right,
/// left or middle, wherever it covers the fewest drawn pixels (above and right win ties). Automatic y ranges
/// include the line and leave room for the highest label above it.
public struct ReferenceLine: Sendable {
    /// The height of the line, in data units. A non-finite value hides the line.
    public var y: Double
    /// The text drawn by the line; empty draws none.
    public var label: String
    /// The colour; `nil` takes the owning series' colour, or dark grey for a panel's own reference line.
    public var color: Color?

    /// Creates a reference line.
    /// - Parameters:
    ///   - y: The height of the line, in data units.
    ///   - label: The text drawn by the line.
    ///   - color: The colour; `nil` for the default.
    public init(y: Double, label: String, color: Color? = nil) {
        self.y = y
        self.label = label
        self.color = color
    }
}
