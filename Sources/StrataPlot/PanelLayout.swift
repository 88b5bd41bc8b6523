/// Where everything in one panel goes, worked out from the panel's frame before anything is drawn.
///
/// Top to bottom: title, legend rows, plot area, x tick labels, x-axis label. Left to right: the upward y-axis
/// label, y tick labels, tick marks, plot area. The y ticks are chosen first (they depend only on the plot
/// height), so that the width of their labels can set the plot area's left edge before the x ticks are chosen.
struct PanelLayout {
    /// A legend entry: the series (index into `PanelData.lines`) and where its sample line starts.
    struct LegendEntry {
        var line: Int
        var text: String
        var x: Int
        var top: Int
    }

    let metrics: PlotMetrics
    /// The panel's share of the figure.
    let frame: PixelRect
    /// The framed data area; `xScale.lower...upper` spans its columns and `yScale`'s its rows, bottom up.
    let plot: PixelRect
    let xScale: TickScale
    let yScale: TickScale
    /// The title, already truncated to fit, and the top-left of its first glyph.
    let title: (text: String, x: Int, top: Int)?
    let legend: [LegendEntry]

    /// Lays out `panel` in `frame`; `nil` when the frame leaves the plot area under
    /// `PlotMetrics.minimumPlotSide` pixels on a side.
    init?(panel: Panel, data: PanelData, frame: PixelRect, metrics: PlotMetrics) {
        self.metrics = metrics
        self.frame = frame
        let m = metrics

        // Vertical: title, legend, plot, x tick labels, x-axis label.
        var top = frame.y
        let titleTop = top
        if !panel.title.isEmpty { top += m.textHeight + m.largeGap }
        let yLabelStrip = panel.yLabel.isEmpty ? 0 : m.textHeight + m.largeGap
        // The legend wraps against the frame less the y-axis strip and a typical tick label, so that its rows
        // are known before the tick labels that set the plot's left edge.
        let legendWrap = frame.width - yLabelStrip - m.width(of: "-0.000") - m.smallGap - m.tickLength
        let rows = Self.legendRows(data: data, wrapWidth: legendWrap, metrics: m)
        let legendTop = top
        if !rows.isEmpty {
            top += rows.count * m.textHeight + (rows.count - 1) * m.smallGap + m.largeGap
        }
        let plotTop = top + m.capHeight / 2  // room for the top y tick label, centred on the frame's top edge
        var plotBottom = frame.maxY - m.tickLength - m.smallGap - m.textHeight
        if !panel.xLabel.isEmpty { plotBottom -= m.largeGap + m.textHeight }
        let plotHeight = plotBottom - plotTop
        guard plotHeight >= PlotMetrics.minimumPlotSide else { return nil }

        // y ticks, then the left edge they imply, then x ticks.
        let yTarget = min(10, max(3, plotHeight / m.yTickSpacing))
        yScale = Self.yScale(panel: panel, data: data, plotHeight: plotHeight, targetCount: yTarget, metrics: m)
        let yLabelWidth = yScale.labels.map(m.width(of:)).max() ?? 0
        let left = frame.x + yLabelStrip + yLabelWidth + m.smallGap + m.tickLength
        let right = frame.maxX - m.largeGap
        let plotWidth = right - left
        guard plotWidth >= PlotMetrics.minimumPlotSide else { return nil }
        plot = PixelRect(x: left, y: plotTop, width: plotWidth, height: plotHeight)
        xScale = Self.xScale(fixed: panel.xRange, data: data.xBounds, plotWidth: plotWidth, metrics: m)

        // Title and legend rows are centred over the plot area but kept inside the frame.
        if panel.title.isEmpty {
            title = nil
        } else {
            let text = truncated(panel.title, toWidth: frame.width, scale: m.scale)
            let x = Self.centred(width: m.width(of: text), over: plot, within: frame)
            title = (text, x, titleTop)
        }
        var entries: [LegendEntry] = []
        for (rowIndex, row) in rows.enumerated() {
            let rowWidth = row.map(\.width).reduce(0, +) + (row.count - 1) * m.legendSpacing
            var x = Self.centred(width: rowWidth, over: plot, within: frame)
            let rowTop = legendTop + rowIndex * (m.textHeight + m.smallGap)
            for item in row {
                entries.append(LegendEntry(line: item.line, text: item.text, x: x, top: rowTop))
                x += item.width + m.legendSpacing
            }
        }
        legend = entries
    }

    /// The column of data value `x`, fractional; clamped to ±1e9 so that rasterising cannot overflow.
    func pixelX(_ x: Double) -> Double {
        let fraction = (x - xScale.lower) / (xScale.upper - xScale.lower)
        return clampPixel(Double(plot.x) + fraction * Double(plot.width - 1))
    }

    /// The row of data value `y`, fractional, growing downwards; clamped like ``pixelX(_:)``.
    func pixelY(_ y: Double) -> Double {
        let fraction = (y - yScale.lower) / (yScale.upper - yScale.lower)
        return clampPixel(Double(plot.maxY - 1) - fraction * Double(plot.height - 1))
    }

    /// Both coordinates of a data point.
    func pixel(_ point: DataPoint) -> PixelPoint {
        PixelPoint(x: pixelX(point.x), y: pixelY(point.y))
    }

    // MARK: - Helpers

    private func clampPixel(_ value: Double) -> Double {
        min(1e9, max(-1e9, value))
    }

    /// The scale for one axis: a fixed range as given (when both ends are plottable), else the data's extent
    /// (or 0...1 without data) with a margin of `automaticMargin` of the span on each side, so that no point or
    /// reference line sits on the frame.
    private static func scale(fixed: ClosedRange<Double>?, data: ClosedRange<Double>?, targetCount: Int) -> TickScale {
        if let fixed, PanelData.isPlottable(fixed.lowerBound), PanelData.isPlottable(fixed.upperBound) {
            return TickScale(minimum: fixed.lowerBound, maximum: fixed.upperBound, targetCount: targetCount)
        }
        let range = data ?? 0...1
        let margin = (range.upperBound - range.lowerBound) * automaticMargin  // span ≤ 2e300: no overflow
        return TickScale(
            minimum: range.lowerBound - margin,
            maximum: range.upperBound + margin,
            targetCount: targetCount
        )
    }

    /// The y scale: as ``scale(fixed:data:targetCount:)``, but an automatic range also grows upwards until the
    /// highest labelled reference line has room for its label above it, inside the frame.
    private static func yScale(
        panel: Panel,
        data: PanelData,
        plotHeight: Int,
        targetCount: Int,
        metrics m: PlotMetrics
    ) -> TickScale {
        let plain = scale(fixed: panel.yRange, data: data.yBounds, targetCount: targetCount)
        let labelled = data.references.filter { !$0.label.isEmpty }.map(\.y)
        guard panel.yRange == nil, let highest = labelled.max() else { return plain }
        // Label room as a fraction f of the plot height; the top T must satisfy T − r ≥ f (T − lower), that is
        // T ≥ (r − f · lower) / (1 − f).
        let room = Double(m.capHeight + 2 * m.smallGap + m.scale) / Double(plotHeight)
        guard room < 0.5 else { return plain }  // a very short plot: keep the data visible instead
        let top = (highest - room * plain.lower) / (1 - room)
        guard top > plain.upper else { return plain }
        return TickScale(minimum: plain.lower, maximum: top, targetCount: targetCount)
    }

    /// The share of the data's span added above and below (or left and right of) an automatic range.
    static let automaticMargin = 0.05

    /// The x scale with the most ticks (up to one per `xTickSpacing`) whose labels leave at least two
    /// character widths between neighbours.
    private static func xScale(
        fixed: ClosedRange<Double>?,
        data: ClosedRange<Double>?,
        plotWidth: Int,
        metrics m: PlotMetrics
    ) -> TickScale {
        var target = min(12, max(3, plotWidth / m.xTickSpacing))
        while true {
            let candidate = scale(fixed: fixed, data: data, targetCount: target)
            let widest = candidate.labels.map(m.width(of:)).max() ?? 0
            let spacing = Double(plotWidth - 1) * candidate.step / (candidate.upper - candidate.lower)
            if target == 1 || spacing >= Double(widest + 2 * BitmapFont.advance * m.scale) { return candidate }
            target -= 1
        }
    }

    /// The left edge that centres `width` pixels over `area`, moved if needed to stay inside `frame`.
    private static func centred(width: Int, over area: PixelRect, within frame: PixelRect) -> Int {
        let ideal = area.x + (area.width - width) / 2
        return max(frame.x, min(ideal, frame.maxX - width))
    }

    /// Greedy wrapping of the labelled series into rows no wider than `wrapWidth`.
    private static func legendRows(
        data: PanelData,
        wrapWidth: Int,
        metrics m: PlotMetrics
    ) -> [[(line: Int, text: String, width: Int)]] {
        var rows: [[(line: Int, text: String, width: Int)]] = []
        var row: [(line: Int, text: String, width: Int)] = []
        var rowWidth = 0
        let labelRoom = wrapWidth - m.legendSample - m.legendLabelGap
        for (index, line) in data.lines.enumerated() where !line.label.isEmpty {
            let text = truncated(line.label, toWidth: max(0, labelRoom), scale: m.scale)
            let width = m.legendSample + m.legendLabelGap + m.width(of: text)
            let needed = row.isEmpty ? width : rowWidth + m.legendSpacing + width
            if !row.isEmpty && needed > wrapWidth {
                rows.append(row)
                row = []
                rowWidth = width
            } else {
                rowWidth = needed
            }
            row.append((index, text, width))
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }
}
