/// An axis scale: the range it shows and its "nice" tick values, each a multiple of a step of 1, 2 or 5 × 10^k.
///
/// A tick value is `index × mantissa × 10^exponent` with integer `index`, which keeps labels exact: they are
/// printed from the integers, never from a rounded `Double`.
struct TickScale: Equatable {
    /// The smallest value the axis shows.
    let lower: Double
    /// The largest value the axis shows; always greater than `lower`.
    let upper: Double
    /// The step's leading digit: 1, 2 or 5.
    let mantissa: Int
    /// The step's power of ten.
    let exponent: Int
    /// The tick indices: tick `i` sits at `i × mantissa × 10^exponent`, inside `lower...upper` (up to rounding
    /// noise of 1e-9 step). Empty only when the range is narrower than one step, which a target of three or more
    /// intervals rules out.
    let indices: [Int]

    /// The distance between neighbouring ticks.
    var step: Double { Double(mantissa) * power10(exponent) }
    /// The tick positions, in data units.
    var values: [Double] { indices.map(value(ofIndex:)) }
    /// The tick labels, in the order of ``values``.
    var labels: [String] {
        let scientific = useScientificNotation
        return indices.map { scientific ? scientificLabel(index: $0) : decimalLabel(index: $0) }
    }

    /// Makes the scale for `minimum...maximum` with about `targetCount` intervals: the step is the one of 1, 2 or
    /// 5 × 10^k nearest (on a log scale) to span / target, so there are between 0.7 and 1.4 times the target,
    /// and every multiple of the step inside the range gets a tick; the range itself is kept. A range of zero
    /// width, or one too narrow for its magnitude to print, is first padded around its middle.
    /// - Precondition: both bounds finite with magnitude at most 1e300, `minimum <= maximum`, `targetCount >= 1`.
    init(minimum: Double, maximum: Double, targetCount: Int) {
        precondition(minimum.isFinite && maximum.isFinite && minimum <= maximum, "callers pass a finite range")
        precondition(targetCount >= 1, "at least one interval")
        var low = minimum, high = maximum
        let magnitude = max(abs(low), abs(high))
        // Below 1e-9 of the magnitude the ticks would need more digits than a label can show, and below 1e-290
        // the step's power of ten would underflow: treat such a range as a single value.
        if high - low <= max(magnitude * 1e-9, 1e-290) {
            let middle = low / 2 + high / 2
            let pad = magnitude > 1e-280 ? magnitude * 0.1 : 1  // a tinier pad could underflow the step
            low = middle - pad
            high = middle + pad
        }
        var exponent = log10Floor((high - low) / Double(targetCount))
        let raw = (high - low) / Double(targetCount) / power10(exponent)  // in [1, 10)
        // The nearest of 1, 2, 5, 10 on a log scale (cut at √2, √10, √50), so the tick count stays near the target
        // rather than always below it.
        var mantissa = raw < 1.414_213_56 ? 1 : raw < 3.162_277_66 ? 2 : raw < 7.071_067_81 ? 5 : 10
        if mantissa == 10 {
            mantissa = 1
            exponent += 1
        }
        let step = Double(mantissa) * power10(exponent)
        // The ratio |bound| / step is at most about 1e9 × targetCount after the padding above, so it fits Int.
        let slack = 1e-9  // a bound that is a multiple of the step up to rounding still gets its tick
        let first = Int((low / step - slack).rounded(.up))
        let last = Int((high / step + slack).rounded(.down))
        self.mantissa = mantissa
        self.exponent = exponent
        self.indices = first <= last ? Array(first...last) : []
        self.lower = low
        self.upper = high
    }

    /// The data value of tick `index`, computed by division when the step is below 1 so that 0.1-steps land on
    /// the nearest `Double` to the decimal value.
    func value(ofIndex index: Int) -> Double {
        let units = Double(index * mantissa)
        return exponent >= 0 ? units * power10(exponent) : units / power10(-exponent)
    }

    /// Large magnitudes and tiny steps print as `2.5e9` / `5e-6`; the rest as plain decimals.
    private var useScientificNotation: Bool {
        let largest = max(abs(lower), abs(upper))
        return largest >= 1e7 || exponent < -5
    }

    /// `index × mantissa × 10^exponent` as a plain decimal with exactly the step's number of decimals.
    private func decimalLabel(index: Int) -> String {
        let units = index * mantissa
        if units == 0 { return "0" }
        let sign = units < 0 ? "-" : ""
        var digits = String(units.magnitude)
        if exponent >= 0 {
            return sign + digits + String(repeating: "0", count: exponent)
        }
        let decimals = -exponent
        if digits.count <= decimals {
            digits = String(repeating: "0", count: decimals - digits.count + 1) + digits
        }
        let split = digits.index(digits.endIndex, offsetBy: -decimals)
        return sign + digits[..<split] + "." + digits[split...]
    }

    /// `index × mantissa × 10^exponent` as `d.ddde±x`, trailing zeros of the mantissa removed.
    private func scientificLabel(index: Int) -> String {
        let units = index * mantissa
        if units == 0 { return "0" }
        let sign = units < 0 ? "-" : ""
        let digits = String(units.magnitude)
        let power = exponent + digits.count - 1
        var fraction = digits.dropFirst()
        while fraction.last == "0" { fraction = fraction.dropLast() }
        let mantissaText = fraction.isEmpty ? String(digits.prefix(1)) : digits.prefix(1) + "." + fraction
        return sign + mantissaText + "e" + String(power)
    }
}

/// 10^exponent, correctly rounded (parsed once from decimal literals); 0 below 1e-323 and infinity above 1e308.
func power10(_ exponent: Int) -> Double {
    guard exponent >= -323 else { return 0 }
    guard exponent <= 308 else { return .infinity }
    return powersOfTen[exponent + 323]
}

/// 10^-323 … 10^308: `Double.init(_: String)` rounds correctly, where repeated multiplication drifts past 10^22.
private let powersOfTen: [Double] = (-323...308).map { Double("1e\($0)") ?? .nan }

/// ⌊log10(value)⌋ for a positive finite value, from the binary exponent (× log10 2) and then corrected by
/// comparing with powers of ten, so no libm call and no rounding surprise near exact powers.
func log10Floor(_ value: Double) -> Int {
    var exponent = Int((Double(value.exponent) * 0.301_029_995_663_981_2).rounded(.down))
    while power10(exponent) > value { exponent -= 1 }
    while power10(exponent + 1) <= value { exponent += 1 }
    return exponent
}
