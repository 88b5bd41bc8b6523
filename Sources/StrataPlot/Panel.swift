/// One chart of a ``Figure``: a title, a legend, a framed plot area with grid, ticks and axis labels, and the
/// series drawn in it.
public struct Panel: Sendable {
    /// The text centred above the plot area; empty leaves the space out.
    public var title: String
    /// The label under the x axis; empty leaves the space out.
    public var xLabel: String
    /// The label left of the y axis, drawn reading upwards; empty leaves the space out.
    public var yLabel: String
    /// The lines, drawn in order (later on top); the n-th without a colour takes palette colour n.
    public var series: [Series]
    /// Horizontal reference lines that belong to no series, drawn in dark grey unless they set a colour.
    public var referenceLines: [ReferenceLine]
    /// A fixed x range; `nil` fits the plottable data with a 5% margin at each end. A range with a NaN,
    /// infinite or larger-than-1e300 end is treated as `nil`.
    public var xRange: ClosedRange<Double>?
    /// A fixed y range; `nil` fits the plottable data and reference lines with a 5% margin at each end. A range
    /// of zero width is widened by 10% of its value (or by 1 around 0). Lines leaving a fixed range are clipped
    /// at the frame.
    public var yRange: ClosedRange<Double>?

    /// Creates a panel.
    /// - Parameters:
    ///   - title: The text above the plot area.
    ///   - xLabel: The x-axis label.
    ///   - yLabel: The y-axis label.
    ///   - series: The lines to draw.
    ///   - referenceLines: Horizontal lines that belong to no series.
    ///   - xRange: A fixed x range, or `nil` for automatic.
    ///   - yRange: A fixed y range, or `nil` for automatic.
    public init(
        title: String = "",
        xLabel: String = "",
        yLabel: String = "",
        series: [Series] = [],
        referenceLines: [ReferenceLine] = [],
        xRange: ClosedRange<Double>? = nil,
        yRange: ClosedRange<Double>? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.referenceLines = referenceLines
        self.xRange = xRange
        self.yRange = yRange
    }
}
