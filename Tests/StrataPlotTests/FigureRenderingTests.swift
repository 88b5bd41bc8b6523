import Foundation
import StrataPlot
import Testing

/// Renders figures and looks for series colours in the image, using `plotAreas` to know where the data go.
@Suite struct FigureRenderingTests {
    private let red = Color(rgb: 0xD00000)
    private let teal = Color(rgb: 0x008080)

    /// A one-panel figure with fixed 0…10 ranges on both axes, so data positions are known in advance.
    private func fixedFigure(_ series: [Series], references: [ReferenceLine] = []) -> Figure {
        Figure(panels: [
            Panel(
                title: "t",
                xLabel: "x",
                yLabel: "y",
                series: series,
                referenceLines: references,
                xRange: 0...10,
                yRange: 0...10
            )
        ])
    }

    /// Every pixel of `color` inside `rect`.
    private func pixels(of color: Color, in image: RGBImage, within rect: PixelRect) -> [(x: Int, y: Int)] {
        var found: [(x: Int, y: Int)] = []
        for y in rect.y..<rect.maxY {
            for x in rect.x..<rect.maxX where image[x, y] == color { found.append((x, y)) }
        }
        return found
    }

    /// The row where data value `y` lands in `plot` for a 0…10 range.
    private func row(of y: Double, in plot: PixelRect) -> Int {
        Int((Double(plot.maxY - 1) - y / 10 * Double(plot.height - 1)).rounded())
    }

    private func column(of x: Double, in plot: PixelRect) -> Int {
        Int((Double(plot.x) + x / 10 * Double(plot.width - 1)).rounded())
    }

    @Test func helpersFindOnlyTheColourAsked() throws {
        var image = try RGBImage(width: 4, height: 4)
        image[1, 2] = red
        image[3, 3] = teal
        let area = PixelRect(x: 0, y: 0, width: 4, height: 4)
        #expect(pixels(of: red, in: image, within: area).map { [$0.x, $0.y] } == [[1, 2]])
        #expect(pixels(of: red, in: image, within: PixelRect(x: 2, y: 0, width: 2, height: 4)).isEmpty)
        #expect(row(of: 0, in: area) == 3 && row(of: 10, in: area) == 0 && column(of: 10, in: area) == 3)
    }

    @Test func horizontalSeriesIsDrawnAtItsRowAcrossThePlot() throws {
        let figure = fixedFigure([Series("flat", points: [(0, 7.5), (10, 7.5)], color: red)])
        let image = try figure.render(width: 640, height: 480)
        let plot = try #require(try figure.plotAreas(width: 640, height: 480).first)
        let found = pixels(of: red, in: image, within: plot)
        let expected = row(of: 7.5, in: plot)
        #expect(!found.isEmpty)
        #expect(found.allSatisfy { abs($0.y - expected) <= 2 }, "all red within 2 rows of \(expected)")
        #expect(found.map(\.x).min() == plot.x && found.map(\.x).max() == plot.maxX - 1)
    }

    @Test func diagonalSeriesRunsFromBottomLeftToTopRight() throws {
        let figure = fixedFigure([Series("rise", points: [(0, 0), (10, 10)], color: teal)])
        let image = try figure.render(width: 500, height: 500)
        let plot = try #require(try figure.plotAreas(width: 500, height: 500).first)
        let found = pixels(of: teal, in: image, within: plot)
        for x in [1.0, 5.0, 9.0] {
            let hits = found.filter { $0.x == column(of: x, in: plot) }
            #expect(hits.contains { abs($0.y - row(of: x, in: plot)) <= 2 }, "teal near (\(x), \(x))")
        }
        let topLeft = PixelRect(x: plot.x, y: plot.y, width: plot.width / 3, height: plot.height / 3)
        #expect(pixels(of: teal, in: image, within: topLeft).isEmpty)
    }

    @Test func seriesWithoutColourTakePaletteColoursInOrder() throws {
        let figure = fixedFigure([Series("a", points: [(0, 2), (10, 2)]), Series("b", points: [(0, 8), (10, 8)])])
        let image = try figure.render(width: 500, height: 400)
        let plot = try #require(try figure.plotAreas(width: 500, height: 400).first)
        let first = pixels(of: Color.palette(at: 0), in: image, within: plot)
        let second = pixels(of: Color.palette(at: 1), in: image, within: plot)
        #expect(first.allSatisfy { abs($0.y - row(of: 2, in: plot)) <= 2 } && !first.isEmpty)
        #expect(second.allSatisfy { abs($0.y - row(of: 8, in: plot)) <= 2 } && !second.isEmpty)
    }

    @Test func nonFiniteValuesAreSkippedAndBreakTheLine() throws {
        let points: [(x: Double, y: Double)] =
            [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, .nan), (6, 5), (7, .infinity), (8, 5), (9, 5), (10, 5)]
            + [(.nan, 9), (-.infinity, 1), (5, 1e301)]
        let figure = fixedFigure([Series("gappy", points: points, color: red)])
        let image = try figure.render(width: 600, height: 400)
        let plot = try #require(try figure.plotAreas(width: 600, height: 400).first)
        let found = pixels(of: red, in: image, within: plot)
        let columns = Set(found.map(\.x))
        #expect(columns.contains(column(of: 2.5, in: plot)), "drawn between finite neighbours")
        #expect(!columns.contains(column(of: 5, in: plot)), "gap at the NaN")
        #expect(!columns.contains(column(of: 7, in: plot)), "gap at the infinity")
        #expect(found.allSatisfy { abs($0.y - row(of: 5, in: plot)) <= 3 }, "points with a bad x or y are dropped")
    }

    @Test func automaticRangesIgnoreNonFiniteValues() throws {
        let clean = Figure(panels: [Panel(series: [Series("s", points: [(0, 1), (4, 3)], color: red)])])
        var dirty = clean
        dirty.panels[0].series[0].points += [(2, .nan), (.infinity, 2), (3, -.infinity), (.nan, .nan)]
        // The same axes: identical plot areas and, since the extra points draw nothing, identical pixels.
        #expect(try clean.plotAreas(width: 400, height: 300) == dirty.plotAreas(width: 400, height: 300))
        let cleanImage = try clean.render(width: 400, height: 300)
        let dirtyImage = try dirty.render(width: 400, height: 300)
        let plot = try #require(try clean.plotAreas(width: 400, height: 300).first)
        #expect(!pixels(of: red, in: cleanImage, within: plot).isEmpty)
        // NaN after (4, 3) ends the run, so only the first segment may differ: compare the left half.
        let leftHalf = PixelRect(x: plot.x, y: plot.y, width: plot.width / 3, height: plot.height)
        #expect(
            pixels(of: red, in: cleanImage, within: leftHalf).count
                == pixels(of: red, in: dirtyImage, within: leftHalf).count
        )
    }

    @Test func automaticRangesKeepDataOffTheFrameAndMakeRoomForTheTopLabel() throws {
        let top = Color(rgb: 0x804000)
        let figure = Figure(
            panels: [
                Panel(
                    series: [Series("", values: [0, 10, 0, 10], color: red)],
                    referenceLines: [ReferenceLine(y: 10, label: "ceiling", color: top)]
                )
            ],
            textScale: 2  // a 2× label needs more than the 5% margin gives
        )
        let image = try figure.render(width: 600, height: 400)
        let plot = try #require(try figure.plotAreas(width: 600, height: 400).first)
        let rows = pixels(of: red, in: image, within: plot).map(\.y)
        let margin = plot.height * 3 / 100
        #expect(rows.min().map { $0 > plot.y + margin } == true, "room above the highest point")
        #expect(rows.max().map { $0 < plot.maxY - 1 - margin } == true, "room below the lowest point")
        // The reference line sits on the data maximum; its label must still fit above it.
        let counts = Dictionary(grouping: pixels(of: top, in: image, within: plot), by: \.y).mapValues(\.count)
        let lineRow = try #require(counts.max { $0.value < $1.value }?.key, "the dashed line is the fullest row")
        let aboveLine = PixelRect(x: plot.x, y: plot.y, width: plot.width, height: lineRow - 2 - plot.y)
        #expect(pixels(of: top, in: image, within: aboveLine).count > 20, "label above the line")
    }

    @Test func fixedRangesWithUnplottableEndsFallBackToAutomatic() throws {
        let series = [Series("s", values: [1, 5, 2])]
        let automatic = Figure(panels: [Panel(series: series)])
        let unbounded = Figure(panels: [Panel(series: series, xRange: 0...Double.infinity, yRange: -1e301...1)])
        #expect(try automatic.render(width: 400, height: 300) == unbounded.render(width: 400, height: 300))
    }

    @Test func emptyAndAllNaNSeriesRenderAnEmptyPlot() throws {
        let figure = Figure(
            title: "nothing",
            panels: [
                Panel(series: [
                    Series("empty", points: [], color: red), Series("nan", values: [.nan, .nan], color: teal),
                ])
            ]
        )
        let image = try figure.render(width: 400, height: 300)
        let plot = try #require(try figure.plotAreas(width: 400, height: 300).first)
        #expect(pixels(of: red, in: image, within: plot).isEmpty)
        #expect(pixels(of: teal, in: image, within: plot).isEmpty)
        #expect(!pixels(of: Color.muted, in: image, within: plot).isEmpty, "the 'no data' note")
        // The legend still names both series, with their colours.
        let full = PixelRect(x: 0, y: 0, width: 400, height: 300)
        #expect(!pixels(of: red, in: image, within: full).isEmpty && !pixels(of: teal, in: image, within: full).isEmpty)
    }

    @Test func aSinglePointIsDrawnAsAMarker() throws {
        let figure = fixedFigure([Series("one", points: [(5, 5)], color: red)])
        let image = try figure.render(width: 500, height: 400)
        let plot = try #require(try figure.plotAreas(width: 500, height: 400).first)
        let found = pixels(of: red, in: image, within: plot)
        #expect(found.count >= 9)
        #expect(found.allSatisfy { abs($0.x - column(of: 5, in: plot)) <= 4 && abs($0.y - row(of: 5, in: plot)) <= 4 })
    }

    @Test func aConstantSeriesIsCentredInAPaddedRange() throws {
        let figure = Figure(panels: [Panel(series: [Series("flat", values: [5, 5, 5, 5], color: red)])])
        let image = try figure.render(width: 400, height: 300)
        let plot = try #require(try figure.plotAreas(width: 400, height: 300).first)
        let rows = pixels(of: red, in: image, within: plot).map(\.y)
        let middle = plot.y + plot.height / 2
        #expect(!rows.isEmpty && rows.allSatisfy { abs($0 - middle) <= 4 }, "line near row \(middle)")
    }

    @Test func dataOutsideAFixedRangeIsClippedToThePlotArea() throws {
        // Unlabelled, so no legend sample: every red pixel must come from the data.
        let figure = fixedFigure([Series("", points: [(-50, -100), (5, 5), (60, 200), (7, 1e300)], color: red)])
        let image = try figure.render(width: 500, height: 400)
        let plot = try #require(try figure.plotAreas(width: 500, height: 400).first)
        let all = pixels(of: red, in: image, within: PixelRect(x: 0, y: 0, width: 500, height: 400))
        #expect(!all.isEmpty)
        #expect(all.allSatisfy { plot.contains($0.x, $0.y) })
    }

    @Test func referenceLineIsDrawnDashedAtItsRowWithItsLabel() throws {
        let figure = fixedFigure(
            [Series("s", points: [(0, 1), (10, 2)], color: red)],
            references: [ReferenceLine(y: 6, label: "objective p99", color: teal)]
        )
        let image = try figure.render(width: 600, height: 400)
        let plot = try #require(try figure.plotAreas(width: 600, height: 400).first)
        let line = pixels(
            of: teal,
            in: image,
            within: PixelRect(x: plot.x, y: row(of: 6, in: plot), width: plot.width, height: 1)
        )
        #expect(line.count > plot.width / 3 && line.count < plot.width, "dashed: inked and blank stretches")
        let above = PixelRect(x: plot.x, y: plot.y, width: plot.width, height: row(of: 6, in: plot) - 1 - plot.y)
        #expect(pixels(of: teal, in: image, within: above).count > 20, "label text above the line")
    }

    @Test func aSeriesReferenceLineTakesTheSeriesColour() throws {
        let figure = fixedFigure([
            Series("s", points: [(0, 1), (10, 2)], color: red, referenceLine: ReferenceLine(y: 8, label: "full depth"))
        ])
        let image = try figure.render(width: 600, height: 400)
        let plot = try #require(try figure.plotAreas(width: 600, height: 400).first)
        let band = PixelRect(x: plot.x, y: row(of: 8, in: plot), width: plot.width, height: 1)
        #expect(pixels(of: red, in: image, within: band).count > plot.width / 3)
    }

    @Test func panelsStackTopToBottom() throws {
        let figure = Figure(title: "two", panels: [Panel(title: "a"), Panel(title: "b")])
        let areas = try figure.plotAreas(width: 800, height: 800)
        #expect(areas.count == 2)
        #expect(areas[0].maxY < areas[1].y)
        #expect(areas[0].height == areas[1].height)
    }

    @Test func renderingIsDeterministicAndPNGMatchesTheRaster() throws {
        let figure = fixedFigure([Series("s", values: [1, 4, 2, 8, 5], style: .lineAndMarkers)])
        let first = try figure.png(width: 320, height: 240)
        #expect(first == (try figure.png(width: 320, height: 240)))
        let image = try figure.render(width: 320, height: 240)
        let raw = try PNGReader(first).inflatedImageData(expectedSize: 240 * (1 + 320 * 3))
        let pixelsOnly = (0..<240).flatMap { row in raw[(row * 961 + 1)..<((row + 1) * 961)] }
        #expect(pixelsOnly == image.bytes)
    }

    @Test func invalidRequestsThrowTheirErrors() {
        #expect(throws: PlotError.noPanels) { try Figure().png(width: 100, height: 100) }
        let one = Figure(panels: [Panel()])
        #expect(throws: PlotError.invalidSize(width: 0, height: 100)) { try one.png(width: 0, height: 100) }
        #expect(throws: PlotError.invalidTextScale(3)) {
            try Figure(panels: [Panel()], textScale: 3).png(width: 400, height: 300)
        }
        #expect(throws: PlotError.tooSmall(width: 40, height: 40, minimumPlotSide: 24)) {
            try one.png(width: 40, height: 40)
        }
    }

    @Test func writeStoresThePNGAndReportsFailures() throws {
        let figure = fixedFigure([Series("s", values: [1, 2, 3])])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strataplot-\(UUID().uuidString).png")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try figure.write(to: path, width: 300, height: 200)
        let written = try #require(FileManager.default.contents(atPath: path))
        #expect(Array(written) == (try figure.png(width: 300, height: 200)))
        #expect(throws: PlotError.self) { try figure.write(to: "/nonexistent-dir/x.png", width: 300, height: 200) }
    }
}
