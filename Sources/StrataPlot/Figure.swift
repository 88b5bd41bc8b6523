import Foundation

/// A titled image of one or more ``Panel``s stacked vertically, rendered to PNG.
///
/// ```swift
/// var figure = Figure(title: "Load test: 4 workers")
/// figure.panels.append(Panel(
///     title: "Latency", xLabel: "time (s)", yLabel: "ms",
///     series: [Series("p50", x: times, y: p50), Series("p99", x: times, y: p99)],
///     referenceLines: [ReferenceLine(y: 250, label: "objective p99")]))
/// try figure.write(to: "out/load.png")
/// ```
///
/// Panels share the height equally. Text uses a built-in bitmap font covering printable ASCII; other
/// characters draw as `?`.
public struct Figure: Sendable {
    /// The text centred at the top, one font step larger than the rest; empty leaves the space out.
    public var title: String
    /// The charts, top to bottom.
    public var panels: [Panel]
    /// Pixels per font pixel (1 or 2); `nil` picks 2 when the image is at least 720 pixels wide and gives each
    /// panel at least 240 rows, else 1.
    public var textScale: Int?

    /// Creates a figure.
    /// - Parameters:
    ///   - title: The figure title.
    ///   - panels: The charts, top to bottom.
    ///   - textScale: 1, 2, or `nil` for automatic.
    public init(title: String = "", panels: [Panel] = [], textScale: Int? = nil) {
        self.title = title
        self.panels = panels
        self.textScale = textScale
    }

    /// The default image width of ``write(to:width:height:)``.
    public static let defaultWidth = 1000

    /// The default image height of ``write(to:width:height:)`` for `panelCount` panels: 380 rows each plus 60
    /// for the title.
    /// - Parameter panelCount: The number of panels.
    /// - Returns: A height in pixels, at most `RGBImage.maximumSide`.
    public static func defaultHeight(panelCount: Int) -> Int {
        min(RGBImage.maximumSide, 60 + 380 * max(1, min(panelCount, 40)))
    }

    /// Renders the figure.
    /// - Parameters:
    ///   - width: Image width in pixels.
    ///   - height: Image height in pixels.
    /// - Returns: The image.
    /// - Throws: `PlotError.noPanels`, `.invalidSize`, `.invalidTextScale`, or `.tooSmall` when the size leaves
    ///   a panel no room for its plot area.
    public func render(width: Int, height: Int) throws(PlotError) -> RGBImage {
        let (metrics, layouts) = try layout(width: width, height: height)
        var canvas = Canvas(image: try RGBImage(width: width, height: height))
        if !title.isEmpty {
            let titleScale = metrics.scale + 1
            let text = truncated(title, toWidth: width - 2 * metrics.largeGap, scale: titleScale)
            let x = (width - BitmapFont.width(of: text, scale: titleScale)) / 2
            canvas.text(text, x: x, y: metrics.largeGap, scale: titleScale, color: .text)
        }
        for (panel, (data, layout)) in zip(panels, layouts) {
            canvas.drawPanel(panel, data: data, layout: layout)
        }
        return canvas.image
    }

    /// Renders the figure and encodes it as PNG (8-bit RGB, zlib-compressed).
    /// - Parameters:
    ///   - width: Image width in pixels.
    ///   - height: Image height in pixels.
    /// - Returns: The bytes of a PNG file.
    /// - Throws: The errors of ``render(width:height:)``, or `PlotError.compressionFailed`.
    public func png(width: Int, height: Int) throws(PlotError) -> [UInt8] {
        try render(width: width, height: height).png()
    }

    /// Renders the figure and writes it as a PNG file, replacing any file at `path`.
    /// - Parameters:
    ///   - path: The file to write; its directory must exist.
    ///   - width: Image width in pixels.
    ///   - height: Image height in pixels; `nil` for ``defaultHeight(panelCount:)``.
    /// - Throws: The errors of ``png(width:height:)``, or `PlotError.writeFailed`.
    public func write(to path: String, width: Int = Figure.defaultWidth, height: Int? = nil) throws(PlotError) {
        let bytes = try png(width: width, height: height ?? Self.defaultHeight(panelCount: panels.count))
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .writeFailed(path: path, reason: "\(error)")
        }
    }

    /// The data area of each panel, top to bottom, in the image that ``render(width:height:)`` would make:
    /// where a data point lands, for tests and for callers that annotate the image.
    /// - Parameters:
    ///   - width: Image width in pixels.
    ///   - height: Image height in pixels.
    /// - Returns: One rectangle per panel; its left column is the x range's lower end and its bottom row the
    ///   y range's lower end.
    /// - Throws: The layout errors of ``render(width:height:)``.
    public func plotAreas(width: Int, height: Int) throws(PlotError) -> [PixelRect] {
        try layout(width: width, height: height).layouts.map(\.layout.plot)
    }

    /// Splits the image among the panels and lays each out.
    private func layout(
        width: Int,
        height: Int
    ) throws(PlotError) -> (metrics: PlotMetrics, layouts: [(data: PanelData, layout: PanelLayout)]) {
        guard !panels.isEmpty else { throw .noPanels }
        guard (1...RGBImage.maximumSide).contains(width), (1...RGBImage.maximumSide).contains(height) else {
            throw .invalidSize(width: width, height: height)
        }
        let scale = textScale ?? (width >= 720 && height / panels.count >= 240 ? 2 : 1)
        guard scale == 1 || scale == 2 else { throw .invalidTextScale(scale) }
        let m = PlotMetrics(scale: scale)
        let tooSmall = PlotError.tooSmall(width: width, height: height, minimumPlotSide: PlotMetrics.minimumPlotSide)

        var top = m.largeGap
        if !title.isEmpty { top += BitmapFont.glyphHeight * (scale + 1) + m.largeGap }
        let panelGap = 3 * m.largeGap
        let available = height - m.largeGap - top - panelGap * (panels.count - 1)
        guard available > 0 else { throw tooSmall }
        let panelHeight = available / panels.count
        var layouts: [(data: PanelData, layout: PanelLayout)] = []
        for (index, panel) in panels.enumerated() {
            let frame = PixelRect(
                x: m.largeGap,
                y: top + index * (panelHeight + panelGap),
                width: width - 2 * m.largeGap,
                height: panelHeight
            )
            let data = PanelData(panel: panel)
            guard let layout = PanelLayout(panel: panel, data: data, frame: frame, metrics: m) else { throw tooSmall }
            layouts.append((data, layout))
        }
        return (m, layouts)
    }
}
