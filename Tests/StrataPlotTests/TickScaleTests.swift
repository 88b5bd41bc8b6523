import Testing

@testable import StrataPlot

@Suite struct TickScaleTests {
    /// |a − b| within `relative` of the larger magnitude (or of 1 near zero).
    private func close(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
        abs(a - b) <= relative * max(1, abs(a), abs(b))
    }

    @Test(arguments: [
        (0.0, 1.0, 5), (0.0, 10.0, 5), (-3.7, 12.2, 6), (0.001, 0.0042, 4), (97.0, 103.0, 5), (-1e6, -2.5e5, 4),
        (1e-7, 9e-7, 5), (0.0, 1234567.0, 8), (42.0, 42.5, 3), (-0.5, 0.5, 10), (3.0, 3.0, 5), (0.0, 0.0, 5),
        (-8.0, -8.0, 4), (1e15, 1e15 + 1, 5), (-1e300, 1e300, 5), (0.3, 0.7, 3),
    ])
    func ticksAreNiceEvenlySpacedAndSpanTheRange(minimum: Double, maximum: Double, target: Int) {
        let scale = TickScale(minimum: minimum, maximum: maximum, targetCount: target)
        #expect([1, 2, 5].contains(scale.mantissa))
        #expect(scale.lower <= minimum && scale.upper >= maximum, "[\(scale.lower), \(scale.upper)] holds the range")
        #expect(scale.upper > scale.lower)
        let values = scale.values, step = scale.step
        #expect(values.count >= 2 && values.count <= target * 3 / 2 + 2, "\(values.count) ticks for target \(target)")
        let tolerance = step * 1e-6
        #expect(values.allSatisfy { $0 >= scale.lower - tolerance && $0 <= scale.upper + tolerance }, "inside")
        // Spanning: no room for another tick at either end.
        #expect((values.first ?? .nan) - scale.lower < step + tolerance)
        #expect(scale.upper - (values.last ?? .nan) < step + tolerance)
        for (a, b) in zip(values, values.dropFirst()) {
            #expect(close(b - a, step, relative: 1e-6), "even spacing")
        }
        for value in values {
            let multiple = value / step
            #expect(abs(multiple - multiple.rounded()) < 1e-6, "\(value) is a multiple of \(step)")
        }
        #expect(close(step / power10(scale.exponent), Double(scale.mantissa)))
    }

    @Test func stepsFollowOneTwoFive() {
        // Raw steps 2, 3.4, 6.6, 7.4 and 16 round to the nearest of 1, 2, 5, 10 (× 10^k) on a log scale.
        let steps = [(0.0, 10.0), (0.0, 17.0), (0.0, 33.0), (0.0, 37.0), (0.0, 80.0)].map {
            TickScale(minimum: $0.0, maximum: $0.1, targetCount: 5).step
        }
        #expect(steps.count == 5)
        #expect(zip(steps, [2.0, 5.0, 5.0, 10.0, 20.0]).allSatisfy { close($0, $1) }, "\(steps)")
    }

    @Test func labelsArePrintedExactly() {
        let tenths = TickScale(minimum: 0, maximum: 1, targetCount: 10)
        #expect(tenths.labels == ["0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
        let negative = TickScale(minimum: -25, maximum: 10, targetCount: 4)
        #expect(negative.labels == ["-20", "-10", "0", "10"])
        let small = TickScale(minimum: 0.001, maximum: 0.004, targetCount: 3)
        #expect(small.labels == ["0.001", "0.002", "0.003", "0.004"])
    }

    @Test func largeAndTinyMagnitudesUseScientificNotation() {
        let large = TickScale(minimum: 0, maximum: 3e9, targetCount: 3)
        #expect(large.labels == ["0", "1e9", "2e9", "3e9"])
        let halves = TickScale(minimum: 1e9, maximum: 2.1e9, targetCount: 3)
        #expect(halves.labels == ["1e9", "1.5e9", "2e9"])
        let tiny = TickScale(minimum: 0, maximum: 3e-6, targetCount: 3)
        #expect(tiny.labels == ["0", "1e-6", "2e-6", "3e-6"])
    }

    @Test func equalBoundsArePaddedAroundTheValue() {
        let scale = TickScale(minimum: 5, maximum: 5, targetCount: 5)
        #expect(scale.lower < 5 && scale.upper > 5)
        #expect(close(scale.lower, 4.5) && close(scale.upper, 5.5), "padding is 10% of the value")
        let zero = TickScale(minimum: 0, maximum: 0, targetCount: 5)
        #expect(close(zero.lower, -1) && close(zero.upper, 1))
    }

    @Test func rangesAreKeptAndOnlyTicksInsideAreLabelled() {
        let scale = TickScale(minimum: 0.05, maximum: 0.95, targetCount: 4)
        #expect(scale.lower == 0.05 && scale.upper == 0.95)  // exact: the bounds are passed through
        #expect(scale.values.allSatisfy { $0 >= 0.05 - 1e-12 && $0 <= 0.95 + 1e-12 })
        #expect(scale.labels == ["0.2", "0.4", "0.6", "0.8"])
    }

    @Test func floorOfLog10IsExactAtPowersOfTen() {
        #expect(log10Floor(1) == 0)
        #expect(log10Floor(1000) == 3)
        #expect(log10Floor(999.999) == 2)
        #expect(log10Floor(0.001) == -3)
        #expect(log10Floor(0.00099) == -4)
        #expect(log10Floor(1e300) == 300)
        #expect(log10Floor(9.999e299) == 299)
        #expect(log10Floor(1e-300) == -300)
        #expect(power10(22) == 1e22 && power10(300) == 1e300 && power10(-7) == 1e-7)
    }
}
