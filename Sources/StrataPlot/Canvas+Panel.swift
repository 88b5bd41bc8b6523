/// Drawing one laid-out panel.
extension Canvas {
    /// Draws `data` into the places `layout` chose: grid, frame, reference lines, series, ticks, labels, legend.
    mutating func drawPanel(_ panel: Panel, data: PanelData, layout: PanelLayout) {
        let m = layout.metrics, plot = layout.plot
        let xTicks = layout.xScale.values.map { Int(layout.pixelX($0).rounded()) }
        let yTicks = layout.yScale.values.map { Int(layout.pixelY($0).rounded()) }

        for x in xTicks { fill(PixelRect(x: x, y: plot.y, width: 1, height: plot.height), .grid) }
        for y in yTicks { fill(PixelRect(x: plot.x, y: y, width: plot.width, height: 1), .grid) }
        stroke(plot, .axis)

        let outside = clip
        clip = plot
        for reference in data.references {
            let y = layout.pixelY(reference.y)
            line(
                from: PixelPoint(x: Double(plot.x), y: y),
                to: PixelPoint(x: Double(plot.maxX - 1), y: y),
                color: reference.color,
                width: m.scale,
                dash: m.dash
            )
        }
        for series in data.lines { drawSeries(series, layout: layout) }
        clip = outside

        drawTicks(layout: layout, xTicks: xTicks, yTicks: yTicks)
        drawReferenceLabels(data.references, layout: layout)
        drawAxisLabels(panel, layout: layout)
        if let title = layout.title {
            text(title.text, x: title.x, y: title.top, scale: m.scale, color: .text)
        }
        for entry in layout.legend { drawLegendEntry(entry, line: data.lines[entry.line], metrics: m) }
        if !data.hasPoints {
            let note = "no data"
            text(
                note,
                x: plot.x + (plot.width - m.width(of: note)) / 2,
                y: plot.y + (plot.height - m.capHeight) / 2,
                scale: m.scale,
                color: .muted
            )
        }
    }

    /// The polyline of each run, plus markers where the style asks for them or a run is a lone point.
    private mutating func drawSeries(_ series: PanelData.Line, layout: PanelLayout) {
        let m = layout.metrics
        for run in series.runs {
            let pixels = run.map(layout.pixel)
            for (a, b) in zip(pixels, pixels.dropFirst()) {
                line(from: a, to: b, color: series.color, width: m.lineWidth)
            }
            if series.style == .lineAndMarkers || pixels.count == 1 {
                for point in pixels { disc(center: point, radius: m.markerRadius, color: series.color) }
            }
        }
    }

    /// Tick marks outside the frame and their labels: y labels right-aligned and centred on the tick, x labels
    /// centred under it and kept inside the panel.
    private mutating func drawTicks(layout: PanelLayout, xTicks: [Int], yTicks: [Int]) {
        let m = layout.metrics, plot = layout.plot, frame = layout.frame
        for (y, label) in zip(yTicks, layout.yScale.labels) {
            fill(PixelRect(x: plot.x - m.tickLength, y: y, width: m.tickLength, height: 1), .axis)
            let x = plot.x - m.tickLength - m.smallGap - m.width(of: label)
            text(label, x: x, y: y - m.capHeight / 2, scale: m.scale, color: .text)
        }
        for (x, label) in zip(xTicks, layout.xScale.labels) {
            fill(PixelRect(x: x, y: plot.maxY, width: 1, height: m.tickLength), .axis)
            let width = m.width(of: label)
            let left = max(frame.x, min(x - width / 2, frame.maxX - width))
            text(label, x: left, y: plot.maxY + m.tickLength + m.smallGap, scale: m.scale, color: .text)
        }
    }

    /// The x-axis label centred under the tick labels, and the y-axis label reading upwards at the frame's left.
    private mutating func drawAxisLabels(_ panel: Panel, layout: PanelLayout) {
        let m = layout.metrics, plot = layout.plot, frame = layout.frame
        if !panel.xLabel.isEmpty {
            let label = truncated(panel.xLabel, toWidth: frame.width, scale: m.scale)
            let width = m.width(of: label)
            let x = max(frame.x, min(plot.x + (plot.width - width) / 2, frame.maxX - width))
            text(label, x: x, y: frame.maxY - m.textHeight, scale: m.scale, color: .text)
        }
        if !panel.yLabel.isEmpty {
            let label = truncated(panel.yLabel, toWidth: plot.height, scale: m.scale)
            let bottom = plot.y + (plot.height + m.width(of: label)) / 2
            upwardText(label, x: frame.x, bottom: bottom, scale: m.scale, color: .text)
        }
    }

    /// Each reference line's label beside its line: above or below, at the right, left or middle, wherever the
    /// fewest pixels are already inked (series, other reference lines, labels placed before), preferring above
    /// and right on ties. A spot must lie inside the plot area.
    private mutating func drawReferenceLabels(_ references: [PanelData.Reference], layout: PanelLayout) {
        let m = layout.metrics, plot = layout.plot
        for reference in references where !reference.label.isEmpty {
            let y = Int(layout.pixelY(reference.y).rounded())
            guard y >= plot.y, y < plot.maxY else { continue }  // the line itself is outside a fixed range
            let label = truncated(reference.label, toWidth: plot.width - 2 * m.largeGap, scale: m.scale)
            let width = m.width(of: label)
            let above = y - m.smallGap - m.capHeight, below = y + m.smallGap + m.scale
            let right = plot.maxX - m.largeGap - width, left = plot.x + m.largeGap
            let middle = plot.x + (plot.width - width) / 2
            let corners = [
                (right, above), (left, above), (middle, above), (right, below), (left, below), (middle, below),
            ]
            let spots = corners.map {
                PixelRect(
                    x: $0.0 - m.scale,
                    y: $0.1 - m.scale,
                    width: width + 2 * m.scale,
                    height: m.textHeight + m.scale
                )
            }.filter { $0.intersection(plot) == $0 }
            guard var best = spots.first else { continue }
            var fewest = inkCount(in: best)
            for spot in spots.dropFirst() where fewest > 0 {
                let count = inkCount(in: spot)
                if count < fewest {
                    best = spot
                    fewest = count
                }
            }
            haloText(
                label,
                x: best.x + m.scale,
                y: best.y + m.scale,
                scale: m.scale,
                color: reference.color,
                halo: .white
            )
        }
    }

    /// The pixels in `rect` that are neither background nor grid.
    private func inkCount(in rect: PixelRect) -> Int {
        var count = 0
        for y in rect.y..<rect.maxY {
            for x in rect.x..<rect.maxX {
                if let color = image[x, y], color != .white, color != .grid { count += 1 }
            }
        }
        return count
    }

    /// A sample of the series' line (with a marker if it has them), then its label.
    private mutating func drawLegendEntry(
        _ entry: PanelLayout.LegendEntry,
        line series: PanelData.Line,
        metrics m: PlotMetrics
    ) {
        let middle = Double(entry.top + m.capHeight / 2)
        let start = PixelPoint(x: Double(entry.x), y: middle)
        let end = PixelPoint(x: Double(entry.x + m.legendSample - 1), y: middle)
        line(from: start, to: end, color: series.color, width: m.lineWidth)
        if series.style == .lineAndMarkers {
            disc(center: PixelPoint(x: (start.x + end.x) / 2, y: middle), radius: m.markerRadius, color: series.color)
        }
        text(entry.text, x: entry.x + m.legendSample + m.legendLabelGap, y: entry.top, scale: m.scale, color: .text)
    }
}
