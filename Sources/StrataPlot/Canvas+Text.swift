/// Text drawing with ``BitmapFont``.
extension Canvas {
    /// Draws `text` left to right with the top of its glyph boxes at row `y`.
    /// - Parameters:
    ///   - x: The left edge of the first glyph.
    ///   - y: The top row of the glyph boxes (cap height starts here; descenders end 9 × `scale` rows lower).
    ///   - scale: Pixel size of one font pixel, 1 or more.
    mutating func text(_ text: String, x: Int, y: Int, scale: Int, color: Color) {
        for (index, scalar) in text.unicodeScalars.enumerated() {
            let left = x + index * BitmapFont.advance * scale
            for (row, mask) in BitmapFont.rows(for: scalar).enumerated() where mask != 0 {
                for column in 0..<BitmapFont.glyphWidth where mask & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    fill(PixelRect(x: left + column * scale, y: y + row * scale, width: scale, height: scale), color)
                }
            }
        }
    }

    /// Draws `text` turned 90° anticlockwise, reading from the bottom up, as a y-axis label is.
    /// - Parameters:
    ///   - x: The left edge of the turned text (the top of the glyphs).
    ///   - bottom: One past the lowest row the turned text covers (the start of the first glyph).
    mutating func upwardText(_ text: String, x: Int, bottom: Int, scale: Int, color: Color) {
        for (index, scalar) in text.unicodeScalars.enumerated() {
            let start = index * BitmapFont.advance
            for (row, mask) in BitmapFont.rows(for: scalar).enumerated() where mask != 0 {
                for column in 0..<BitmapFont.glyphWidth where mask & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    // Unturned pixel (u, v) = (start + column, row) lands at (x + v, bottom - 1 - u).
                    let top = bottom - (start + column + 1) * scale
                    fill(PixelRect(x: x + row * scale, y: top, width: scale, height: scale), color)
                }
            }
        }
    }

    /// Draws `text` with a one-font-pixel outline in `halo`, so that it stays legible over lines and grid.
    mutating func haloText(_ text: String, x: Int, y: Int, scale: Int, color: Color, halo: Color) {
        for dy in -1...1 {
            for dx in -1...1 where dx != 0 || dy != 0 {
                self.text(text, x: x + dx * scale, y: y + dy * scale, scale: scale, color: halo)
            }
        }
        self.text(text, x: x, y: y, scale: scale, color: color)
    }
}

/// `text`, shortened with a trailing `...` if needed so that it is at most `width` pixels wide at `scale`.
func truncated(_ text: String, toWidth width: Int, scale: Int) -> String {
    guard BitmapFont.width(of: text, scale: scale) > width else { return text }
    // The most glyphs that fit: n × advance − 1 blank column ≤ width / scale.
    let fitting = (width / scale + BitmapFont.advance - BitmapFont.glyphWidth) / BitmapFont.advance
    guard fitting > 3 else { return "" }
    var kept = String.UnicodeScalarView()
    kept.append(contentsOf: text.unicodeScalars.prefix(fitting - 3))
    return String(kept) + "..."
}
