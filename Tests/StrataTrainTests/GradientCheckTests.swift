import Foundation
import Testing

/// The finite-difference helper itself: right on a known gradient, and able to tell a wrong one.
@Suite struct GradientCheckTests {
    @Test func numericalGradientMatchesAnalyticDerivative() {
        var x = randomValues(6, seed: 1, scale: 2)
        let f = { (v: [Double]) in v.reduce(0) { $0 + sin($1) * $1 * $1 } }
        let analytic = x.map { cos($0) * $0 * $0 + 2 * $0 * sin($0) }
        let numeric = numericalGradient(at: &x, indices: Array(x.indices), f)
        #expect(relativeError(analytic, numeric) < 1e-8)
    }

    @Test func relativeErrorFlagsAWrongGradient() {
        let a = randomValues(10, seed: 2)
        let wrong = a.enumerated().map { $0.offset == 3 ? $0.element * 1.01 + 0.01 : $0.element }
        #expect(relativeError(a, a) == 0)
        #expect(relativeError(a, wrong) > 1e-4)
        #expect(randomValues(4, seed: 3) != randomValues(4, seed: 4))
        #expect(Set(randomValues(8, seed: 5)).count == 8)
    }
}
