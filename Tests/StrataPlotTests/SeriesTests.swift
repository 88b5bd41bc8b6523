import StrataPlot
import Testing

@Suite struct SeriesTests {
    @Test func valuesAreNumberedFromZero() {
        let series = Series("loss", values: [3, 2.5, 2.25])
        #expect(series.points.map(\.x) == [0, 1, 2])
        #expect(series.points.map(\.y) == [3, 2.5, 2.25])
        #expect(series.style == .line && series.color == nil && series.referenceLine == nil)
    }

    @Test func parallelArraysPairUpToTheShorter() {
        let series = Series("p99", x: [0, 5, 10, 15], y: [1, 2, 3])
        #expect(series.points.map(\.x) == [0, 5, 10])
        #expect(series.points.map(\.y) == [1, 2, 3])
    }

    @Test func paletteWrapsAroundAndHasDistinctColours() {
        #expect(Set(Color.palette).count == Color.palette.count)
        #expect(Color.palette(at: Color.palette.count + 2) == Color.palette(at: 2))
        #expect(Color.palette(at: -1) == Color.palette(at: 0))
        #expect(!Color.palette.contains { [.white, .text, .axis, .grid, .muted].contains($0) })
    }

    @Test func colourLiteralsSplitIntoChannels() {
        #expect(Color(rgb: 0x12_3456) == Color(red: 0x12, green: 0x34, blue: 0x56))
        #expect(Color(rgb: 0xFF12_3456) == Color(red: 0x12, green: 0x34, blue: 0x56))
    }
}
