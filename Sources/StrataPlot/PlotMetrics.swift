/// Sizes, in pixels, of the parts of a figure at one text scale; everything grows with the scale.
struct PlotMetrics {
    /// Pixels per font pixel: 1 or 2.
    let scale: Int

    /// Height of a line of text, descenders included.
    var textHeight: Int { BitmapFont.glyphHeight * scale }
    /// Height of capitals and digits, used to centre a label on a tick.
    var capHeight: Int { 7 * scale }
    /// Space between text and whatever it labels.
    var smallGap: Int { 3 * scale }
    /// Space between separate blocks (title, legend, plot area).
    var largeGap: Int { 6 * scale }
    /// Length of a tick mark outside the frame.
    var tickLength: Int { 4 * scale }
    /// Width of a series line.
    var lineWidth: Int { scale + 1 }
    /// Radius of a point marker.
    var markerRadius: Int { scale + 2 }
    /// Length of the line sample in front of a legend label.
    var legendSample: Int { 18 * scale }
    /// Space between a legend sample and its label.
    var legendLabelGap: Int { 5 * scale }
    /// Space between two legend entries on one row.
    var legendSpacing: Int { 14 * scale }
    /// Pixels between the centres of y ticks the scale aims for.
    var yTickSpacing: Int { 20 * scale }
    /// Pixels between the centres of x ticks the scale aims for before checking that labels fit.
    var xTickSpacing: Int { 60 * scale }
    /// Dash pattern of reference lines, in line steps.
    var dash: (on: Int, off: Int) { (on: 6 * scale, off: 4 * scale) }

    /// Width of `text` in pixels.
    func width(of text: String) -> Int { BitmapFont.width(of: text, scale: scale) }

    /// The smallest plot area side that layout accepts.
    static let minimumPlotSide = 24
}
