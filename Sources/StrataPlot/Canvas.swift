/// A point in pixel space, `y` growing downwards; fractional values are allowed until rasterisation.
struct PixelPoint: Equatable {
    var x: Double
    var y: Double
}

/// An ``RGBImage`` plus a clip rectangle, with the few primitives a line chart needs. Every write outside the
/// clip rectangle (which never exceeds the image) is dropped, so callers may draw partly off-canvas.
struct Canvas {
    private(set) var image: RGBImage
    /// Drawing is confined to this rectangle; setting it is clamped to the image.
    var clip: PixelRect {
        didSet { clip = clip.intersection(bounds) }
    }

    /// The whole image.
    var bounds: PixelRect { PixelRect(x: 0, y: 0, width: image.width, height: image.height) }

    init(image: RGBImage) {
        self.image = image
        self.clip = PixelRect(x: 0, y: 0, width: image.width, height: image.height)
    }

    /// Sets one pixel if it lies inside the clip rectangle.
    mutating func plot(_ x: Int, _ y: Int, _ color: Color) {
        if clip.contains(x, y) { image[x, y] = color }
    }

    /// Fills `rect` (clipped).
    mutating func fill(_ rect: PixelRect, _ color: Color) {
        let area = rect.intersection(clip)
        for y in area.y..<area.maxY {
            for x in area.x..<area.maxX { image[x, y] = color }
        }
    }

    /// Draws the one-pixel outline of `rect`, inside its bounds.
    mutating func stroke(_ rect: PixelRect, _ color: Color) {
        guard rect.width > 0, rect.height > 0 else { return }
        fill(PixelRect(x: rect.x, y: rect.y, width: rect.width, height: 1), color)
        fill(PixelRect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1), color)
        fill(PixelRect(x: rect.x, y: rect.y, width: 1, height: rect.height), color)
        fill(PixelRect(x: rect.maxX - 1, y: rect.y, width: 1, height: rect.height), color)
    }

    /// Draws a straight line `width` pixels thick, solid or dashed.
    ///
    /// The segment is first clipped (Liang–Barsky) to the clip rectangle grown by the brush, so endpoints far
    /// outside it — a point beyond a fixed axis range — cost nothing and cannot overflow `Int`. Then Bresenham's
    /// algorithm stamps a `width` × `width` square at each step.
    /// - Parameter dash: `(on, off)` step counts; `nil` for a solid line.
    mutating func line(
        from start: PixelPoint,
        to end: PixelPoint,
        color: Color,
        width: Int,
        dash: (on: Int, off: Int)? = nil
    ) {
        guard start.x.isFinite, start.y.isFinite, end.x.isFinite, end.y.isFinite else { return }
        let grow = Double(width + 1)
        let window = (
            minX: Double(clip.x) - grow, maxX: Double(clip.maxX) + grow,
            minY: Double(clip.y) - grow, maxY: Double(clip.maxY) + grow
        )
        guard let (a, b) = clipSegment(start, end, to: window) else { return }
        var x = Int(a.x.rounded()), y = Int(a.y.rounded())
        let x1 = Int(b.x.rounded()), y1 = Int(b.y.rounded())
        let dx = abs(x1 - x), dy = -abs(y1 - y)
        let sx = x < x1 ? 1 : -1, sy = y < y1 ? 1 : -1
        var error = dx + dy
        var step = 0
        let offset = (width - 1) / 2
        while true {
            let ink = dash.map { step % ($0.on + $0.off) < $0.on } ?? true
            if ink { fill(PixelRect(x: x - offset, y: y - offset, width: width, height: width), color) }
            if x == x1 && y == y1 { break }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += sx
            }
            if doubled <= dx {
                error += dx
                y += sy
            }
            step += 1
        }
    }

    /// Fills a disc of `radius` pixels around `center`.
    mutating func disc(center: PixelPoint, radius: Int, color: Color) {
        // Far-off or non-finite centres are dropped before the Int conversion, which would trap on them.
        guard abs(center.x) < 1e9, abs(center.y) < 1e9 else { return }
        let cx = Int(center.x.rounded()), cy = Int(center.y.rounded())
        let limit = radius * radius + radius  // "+ radius" rounds the rim the way the eye expects
        for dy in -radius...radius {
            for dx in -radius...radius where dx * dx + dy * dy <= limit {
                plot(cx + dx, cy + dy, color)
            }
        }
    }

    /// The part of segment `a`–`b` inside `window`, or `nil` if none (Liang–Barsky parametric clipping).
    private func clipSegment(
        _ a: PixelPoint,
        _ b: PixelPoint,
        to window: (minX: Double, maxX: Double, minY: Double, maxY: Double)
    ) -> (PixelPoint, PixelPoint)? {
        let dx = b.x - a.x, dy = b.y - a.y
        var enter = 0.0, leave = 1.0
        // Each pair is (p, q) for one window edge: the segment is inside that edge where p·t <= q.
        let edges = [
            (-dx, a.x - window.minX), (dx, window.maxX - a.x), (-dy, a.y - window.minY), (dy, window.maxY - a.y),
        ]
        for (p, q) in edges {
            if p == 0 {
                if q < 0 { return nil }  // parallel to this edge and outside it
                continue
            }
            let t = q / p
            if p < 0 {
                if t > leave { return nil }
                enter = max(enter, t)
            } else {
                if t < enter { return nil }
                leave = min(leave, t)
            }
        }
        return (
            PixelPoint(x: a.x + enter * dx, y: a.y + enter * dy), PixelPoint(x: a.x + leave * dx, y: a.y + leave * dy)
        )
    }
}
