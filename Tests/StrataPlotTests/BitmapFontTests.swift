import Testing

@testable import StrataPlot

@Suite struct BitmapFontTests {
    private let printable = (UInt32(32)...126).compactMap(Unicode.Scalar.init)

    @Test func everyPrintableASCIICharacterHasItsOwnGlyph() {
        #expect(printable.count == 95)
        for scalar in printable {
            #expect(BitmapFont.hasGlyph(for: scalar), "U+\(scalar.value)")
            #expect(BitmapFont.rows(for: scalar).count == BitmapFont.glyphHeight)
        }
    }

    @Test func onlyTheSpaceIsBlank() {
        for scalar in printable {
            let ink = BitmapFont.rows(for: scalar).reduce(0) { $0 | $1 }
            #expect((ink == 0) == (scalar == " "), "'\(Character(scalar))' blank: \(ink == 0)")
        }
    }

    @Test func glyphsStayWithinFiveColumns() {
        for scalar in printable {
            #expect(BitmapFont.rows(for: scalar).allSatisfy { $0 < 1 << BitmapFont.glyphWidth })
        }
    }

    @Test func noTwoCharactersShareAGlyph() {
        var seen: [[UInt8]: Character] = [:]
        for scalar in printable {
            let glyph = Array(BitmapFont.rows(for: scalar))
            #expect(seen[glyph] == nil, "'\(Character(scalar))' looks like '\(seen[glyph].map(String.init) ?? "")'")
            seen[glyph] = Character(scalar)
        }
    }

    @Test func descendersSitBelowTheBaselineOnlyWhereExpected() {
        let descending = Set("gjpqy,;_|".unicodeScalars)
        for scalar in printable {
            let rows = BitmapFont.rows(for: scalar)
            let below = rows[rows.startIndex + 7] | rows[rows.startIndex + 8]
            #expect((below != 0) == descending.contains(scalar), "'\(Character(scalar))'")
        }
    }

    @Test func charactersOutsideASCIIDrawAsQuestionMark() {
        for scalar in ["é", "\u{7F}", "\u{1F600}", "\t"].flatMap(\.unicodeScalars) {
            #expect(!BitmapFont.hasGlyph(for: scalar))
            #expect(Array(BitmapFont.rows(for: scalar)) == Array(BitmapFont.rows(for: "?")))
        }
    }

    @Test func textWidthCountsAdvancesWithoutTheTrailingGap() {
        #expect(BitmapFont.width(of: "", scale: 2) == 0)
        #expect(BitmapFont.width(of: "A", scale: 1) == 5)
        #expect(BitmapFont.width(of: "AB", scale: 1) == 11)
        #expect(BitmapFont.width(of: "AB", scale: 2) == 22)
    }

    /// Every pixel of `color` in the canvas, as [x, y] pairs in row order.
    private func inked(_ canvas: Canvas, _ color: Color) -> [[Int]] {
        (0..<canvas.image.height).flatMap { y in
            (0..<canvas.image.width).filter { x in canvas.image[x, y] == color }.map { [$0, y] }
        }
    }

    @Test func drawnTextPutsTheGlyphPixelsWhereExpected() throws {
        var canvas = Canvas(image: try RGBImage(width: 20, height: 12))
        canvas.text("L", x: 3, y: 1, scale: 1, color: Color.text)
        // "L" (asymmetric, so a mirrored glyph fails): the left column down to the baseline row, then the bar.
        let expected = (1...7).map { [3, $0] } + (4...7).map { [$0, 7] }
        #expect(inked(canvas, Color.text) == expected)
    }

    @Test func scaledTextRepeatsEachFontPixel() throws {
        var canvas = Canvas(image: try RGBImage(width: 20, height: 20))
        canvas.text(".", x: 0, y: 0, scale: 2, color: Color.text)
        // "." inks columns 1–2 of rows 5–6: at scale 2, columns 2–5 of rows 10–13.
        #expect(inked(canvas, Color.text) == (10...13).flatMap { y in (2...5).map { [$0, y] } })
    }

    @Test func upwardTextTurnsAnticlockwise() throws {
        var canvas = Canvas(image: try RGBImage(width: 12, height: 12))
        canvas.upwardText("L", x: 2, bottom: 10, scale: 1, color: Color.text)
        // Turned "L": its left column becomes the bottom row (reading up), its bar the rightmost column.
        let stem = (2...8).map { [$0, 9] }
        let bar = (5...9).map { [8, $0] }
        #expect(Set(inked(canvas, Color.text)) == Set(stem + bar))
    }

    @Test func truncationAddsEllipsisAndFits() {
        let long = "a label far too long for the room"
        let short = truncated(long, toWidth: 60, scale: 1)
        #expect(short.hasSuffix("..."))
        #expect(BitmapFont.width(of: short, scale: 1) <= 60)
        #expect(BitmapFont.width(of: short, scale: 1) > 60 - BitmapFont.advance)
        #expect(truncated("fits", toWidth: 60, scale: 1) == "fits")
        #expect(truncated(long, toWidth: 10, scale: 1) == "")
    }
}
