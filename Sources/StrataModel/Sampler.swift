import Foundation

/// How the next token is chosen from logits.
public struct SamplingOptions: Sendable, Equatable, Codable {
    /// 0 means greedy (argmax).
    public var temperature: Float = 0
    /// Keep the k most likely tokens; 0 keeps all.
    public var topK: Int = 0
    /// Keep the smallest set whose probability reaches p; 1 keeps all.
    public var topP: Float = 1
    /// Drop tokens less likely than minP × the most likely one; 0 keeps all.
    public var minP: Float = 0
    /// Divide positive logits (multiply negative ones) of recently seen tokens by this; 1 is off.
    public var repetitionPenalty: Float = 1
    /// How many recent tokens the repetition penalty looks at.
    public var repetitionWindow: Int = 64
    /// Seed for reproducible sampling; nil draws one from the system.
    public var seed: UInt64?

    public init(
        temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, repetitionPenalty: Float = 1,
        repetitionWindow: Int = 64, seed: UInt64? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    /// Checks ranges; the message names the option.
    public func validate() throws(SamplingError) {
        guard temperature >= 0, temperature.isFinite else { throw .invalid("temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw .invalid("top_k must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw .invalid("top_p must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP <= 1 else { throw .invalid("min_p must be in [0, 1], got \(minP)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw .invalid("repetition penalty must be > 0, got \(repetitionPenalty)")
        }
        guard repetitionWindow >= 0 else { throw .invalid("repetition window must be ≥ 0") }
    }
}

public enum SamplingError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let m): m
        }
    }
}

/// Picks tokens: repetition penalty → top-k → top-p → min-p → temperature → draw, the order
/// llama.cpp's default chain uses, so the same options mean the same thing in both.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: Xoshiro256

    public init(options: SamplingOptions) {
        self.options = options
        var system = SystemRandomNumberGenerator()
        rng = Xoshiro256(seed: options.seed ?? system.next())
    }

    /// The index of the largest logit (lowest index on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }

    /// Chooses the next token. `history` is the sequence so far (prompt included).
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>, history: [Int]) -> Int {
        let o = options
        var penalised: [Int: Float] = [:]
        if o.repetitionPenalty != 1 {
            for id in history.suffix(o.repetitionWindow) where id >= 0 && id < logits.count {
                let v = logits[id]
                penalised[id] = v > 0 ? v / o.repetitionPenalty : v * o.repetitionPenalty
            }
        }
        if o.temperature == 0 {
            if penalised.isEmpty { return Self.argmax(logits) }
            var best = 0
            var bestValue = -Float.infinity
            for i in 0..<logits.count {
                let v = penalised[i] ?? logits[i]
                if v > bestValue {
                    best = i
                    bestValue = v
                }
            }
            return best
        }
        // Candidates sorted by logit, descending; top-k first bounds the sort.
        var candidates = (0..<logits.count).map { (id: $0, logit: penalised[$0] ?? logits[$0]) }
        if o.topK > 0 && o.topK < candidates.count {
            candidates = Array(candidates.sorted { $0.logit > $1.logit }.prefix(o.topK))
        } else {
            candidates.sort { $0.logit > $1.logit }
        }
        guard let maxLogit = candidates.first?.logit else { return 0 }
        // Probabilities at temperature 1 for the filters (as llama.cpp does), then temperature.
        var probs = candidates.map { expf($0.logit - maxLogit) }
        var total = probs.reduce(0, +)
        if o.topP < 1 {
            var cumulative: Float = 0
            var keep = probs.count
            for (i, p) in probs.enumerated() {
                cumulative += p / total
                if cumulative >= o.topP {
                    keep = i + 1
                    break
                }
            }
            candidates.removeSubrange(keep...)
            probs.removeSubrange(keep...)
            total = probs.reduce(0, +)
        }
        if o.minP > 0 {
            let threshold = o.minP * probs[0]
            let keep = max(1, probs.firstIndex { $0 < threshold } ?? probs.count)
            candidates.removeSubrange(keep...)
            probs.removeSubrange(keep...)
        }
        let weights = candidates.map { expf(($0.logit - maxLogit) / o.temperature) }
        let sum = weights.reduce(0, +)
        var draw = Float(rng.nextUnit()) * sum
        for (candidate, w) in zip(candidates, weights) {
            draw -= w
            if draw < 0 { return candidate.id }
        }
        return candidates[candidates.count - 1].id
    }
}

/// xoshiro256** (Blackman & Vigna): fast, seedable, and good enough for sampling.
struct Xoshiro256: Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var r = z
            r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
            r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
            return r ^ (r >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
