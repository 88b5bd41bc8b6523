import Foundation
import StrataKernels

/// cos/sin of every (position, pair) angle: (rows, pairs) each, row-major.
public struct RopeTable<S: TrainScalar> {
    /// Rotated pairs per head.
    public let pairs: Int
    /// (rows, pairs) cosines.
    public private(set) var cos: [S]
    /// (rows, pairs) sines.
    public private(set) var sin: [S]

    /// The angles p·θᵢ, computed in Double and rounded to S as the inference `Rope.table` does
    /// (so the Float table is bit-identical to the inference one).
    /// - Parameters:
    ///   - inverseFrequencies: θᵢ per pair (`Rope.inverseFrequencies`).
    ///   - positions: (rows,) position of each row within its sequence.
    public init(inverseFrequencies: [Float], positions: [Int32]) {
        pairs = inverseFrequencies.count
        var c = [S](repeating: 0, count: positions.count * pairs)
        var s = [S](repeating: 0, count: positions.count * pairs)
        for (t, p) in positions.enumerated() {
            for i in 0..<pairs {
                let angle = Double(p) * Double(inverseFrequencies[i])
                c[t * pairs + i] = S(Foundation.cos(angle))
                s[t * pairs + i] = S(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }
}

/// Rotary position embedding over every head of a (rows, heads·headDim) matrix, with the pair
/// layout of the inference `Rope`: `.adjacentPairs` rotates (x[2i], x[2i+1]) (GGUF files),
/// `.halves` rotates (x[i], x[i + dims/2]) (Hugging Face checkpoints). Dimensions past
/// `2·pairs` in each head are left alone.
public enum RotaryEmbedding {
    /// In place: (a, b) ← (a·c − b·s, a·s + b·c).
    @inlinable
    public static func forward<S: TrainScalar>(
        _ x: UnsafeMutablePointer<S>, rows: Int, heads: Int, headDim: Int, layout: Rope.Layout,
        table: RopeTable<S>
    ) {
        rotate(x, rows: rows, heads: heads, headDim: headDim, layout: layout, table: table, inverse: false)
    }

    /// The gradient of a rotation is the inverse rotation, in place on dy:
    /// (da, db) ← (da·c + db·s, −da·s + db·c).
    @inlinable
    public static func backward<S: TrainScalar>(
        _ dy: UnsafeMutablePointer<S>, rows: Int, heads: Int, headDim: Int, layout: Rope.Layout,
        table: RopeTable<S>
    ) {
        rotate(dy, rows: rows, heads: heads, headDim: headDim, layout: layout, table: table, inverse: true)
    }

    @inlinable
    static func rotate<S: TrainScalar>(
        _ x: UnsafeMutablePointer<S>, rows: Int, heads: Int, headDim: Int, layout: Rope.Layout,
        table: RopeTable<S>, inverse: Bool
    ) {
        let half = table.pairs
        precondition(table.cos.count >= rows * half && 2 * half <= headDim, "rope table does not fit the rows")
        table.cos.withUnsafeBufferPointer { cosBuffer in
            table.sin.withUnsafeBufferPointer { sinBuffer in
                guard let cosBase = cosBuffer.baseAddress, let sinBase = sinBuffer.baseAddress else { return }
                for t in 0..<rows {
                    let c = cosBase + t * half
                    let s = sinBase + t * half
                    for h in 0..<heads {
                        let v = x + (t * heads + h) * headDim
                        for i in 0..<half {
                            let (a, b) = layout == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + half)
                            let x0 = v[a]
                            let x1 = v[b]
                            let sn = inverse ? -s[i] : s[i]
                            v[a] = x0 * c[i] - x1 * sn
                            v[b] = x0 * sn + x1 * c[i]
                        }
                    }
                }
            }
        }
    }
}
