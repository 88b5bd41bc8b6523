import Testing

@testable import StrataHTTPAPI

@Suite struct StopCollectorTests {
    @Test func stopSplitAcrossPiecesIsFoundAndCut() {
        let c = StopCollector(stops: ["END"])
        #expect(c.append("abc E").go)
        #expect(c.append("N").go)
        let last = c.append("Dxyz")
        #expect(!last.go && last.fresh == "")
        #expect(c.text == "abc " && c.stopped)
    }

    @Test func textBeforeTheStopInTheSamePieceIsKept() {
        let c = StopCollector(stops: [".", "\n\n"])
        #expect(c.append(" Paris").fresh == " Paris")
        let r = c.append(" is big. More")
        #expect(!r.go && r.fresh == " is big")
        #expect(c.text == " Paris is big")
        #expect(c.append("more").go == false)
    }

    @Test func withoutStopsEverythingPasses() {
        let c = StopCollector(stops: [])
        for piece in ["a", "b", "c"] { #expect(c.append(piece) == (true, piece)) }
        #expect(c.text == "abc")
    }
}
