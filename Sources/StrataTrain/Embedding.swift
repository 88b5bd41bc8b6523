/// Token embedding lookup and its gradient (a scatter-add into the table).
public enum Embedding {
    /// out[t] = table[tokens[t]]. table: (vocabulary, n); tokens: (count,) already checked to be
    /// in range; out: (count, n).
    @inlinable
    public static func forward<S: TrainScalar>(
        table: UnsafePointer<S>, tokens: UnsafePointer<Int32>, into out: UnsafeMutablePointer<S>, count: Int, n: Int
    ) {
        for t in 0..<count {
            (out + t * n).update(from: table + Int(tokens[t]) * n, count: n)
        }
    }

    /// dtable[tokens[t]] += dout[t]; repeated tokens accumulate.
    @inlinable
    public static func backward<S: TrainScalar>(
        outputGradient dout: UnsafePointer<S>, tokens: UnsafePointer<Int32>,
        tableGradient dtable: UnsafeMutablePointer<S>, count: Int, n: Int
    ) {
        for t in 0..<count {
            let row = dtable + Int(tokens[t]) * n
            let g = dout + t * n
            for j in 0..<n { row[j] += g[j] }
        }
    }
}
