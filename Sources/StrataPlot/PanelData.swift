/// A panel's data made ready to draw: colours resolved, unplottable points removed, lines split at the gaps
/// they leave, and the bounds of everything that should be visible.
struct PanelData {
    /// One series after cleaning.
    struct Line {
        var label: String
        var color: Color
        var style: SeriesStyle
        /// Stretches of consecutive plottable points; a skipped point ends one stretch and starts the next.
        var runs: [[DataPoint]]
    }

    /// One reference line with its colour resolved.
    struct Reference {
        var y: Double
        var label: String
        var color: Color
    }

    let lines: [Line]
    let references: [Reference]
    /// The x extent of all plottable points; `nil` when there are none.
    let xBounds: ClosedRange<Double>?
    /// The y extent of all plottable points and reference lines; `nil` when there are none.
    let yBounds: ClosedRange<Double>?

    /// Whether a coordinate can be placed on an axis: finite, and small enough that range arithmetic
    /// (differences, padding, tick steps) cannot overflow.
    static func isPlottable(_ value: Double) -> Bool {
        value.isFinite && abs(value) <= 1e300
    }

    init(panel: Panel) {
        var lines: [Line] = []
        var references: [Reference] = []
        var xs = Bounds(), ys = Bounds()
        for (index, series) in panel.series.enumerated() {
            let color = series.color ?? Color.palette(at: index)
            var runs: [[DataPoint]] = []
            var current: [DataPoint] = []
            for point in series.points {
                guard Self.isPlottable(point.x), Self.isPlottable(point.y) else {
                    if !current.isEmpty { runs.append(current) }
                    current = []
                    continue
                }
                current.append(DataPoint(x: point.x, y: point.y))
                xs.include(point.x)
                ys.include(point.y)
            }
            if !current.isEmpty { runs.append(current) }
            lines.append(Line(label: series.label, color: color, style: series.style, runs: runs))
            if let reference = series.referenceLine, Self.isPlottable(reference.y) {
                references.append(Reference(y: reference.y, label: reference.label, color: reference.color ?? color))
                ys.include(reference.y)
            }
        }
        for reference in panel.referenceLines where Self.isPlottable(reference.y) {
            references.append(Reference(y: reference.y, label: reference.label, color: reference.color ?? .axis))
            ys.include(reference.y)
        }
        self.lines = lines
        self.references = references
        self.xBounds = xs.range
        self.yBounds = ys.range
    }

    /// Whether any series has a point to draw.
    var hasPoints: Bool { lines.contains { !$0.runs.isEmpty } }
}

/// A point in data units, known to be plottable.
struct DataPoint: Equatable {
    var x: Double
    var y: Double
}

/// A running minimum and maximum.
private struct Bounds {
    private var low = Double.infinity
    private var high = -Double.infinity

    mutating func include(_ value: Double) {
        low = min(low, value)
        high = max(high, value)
    }

    var range: ClosedRange<Double>? { low <= high ? low...high : nil }
}
