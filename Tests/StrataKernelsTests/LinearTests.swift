import CStrataKernels
import Foundation
import StrataFormats
import StrataKernels
import StrataTestSupport
import Testing

@Suite struct LinearTests {
    /// A random `rows × columns` matrix stored as `type`, and its exact dequantised values.
    static func matrix(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) throws -> (WeightMatrix, [Float], Data) {
        var rng = SplitMix64(seed: seed)
        let values = rng.floats(rows * columns)
        let rowBytes = try #require(type.byteCount(elements: columns))
        var data = Data(count: rowBytes * rows)
        data.withUnsafeMutableBytes { raw in
            for r in 0..<rows {
                values.withUnsafeBufferPointer { v in
                    _ = st_quantize_row(Int32(type.rawValue), v.baseAddress! + r * columns, raw.baseAddress! + r * rowBytes, Int64(columns))
                }
            }
        }
        let storage = DataBox(data)
        let w = try WeightMatrix(type: type, rows: rows, columns: columns, bytes: storage.bytes, owner: storage)
        var decoded = [Float](repeating: 0, count: rows * columns)
        decoded.withUnsafeMutableBufferPointer { out in
            for r in 0..<rows { w.dequantizeRow(r, into: out.baseAddress! + r * columns) }
        }
        return (w, decoded, data)
    }

    static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]

    @Test(arguments: types, [1, 3, 8, 9, 40])
    func matmulMatchesDoubleReferenceOnEveryPath(type: GGMLType, batch: Int) throws {
        let rows = 67, columns = 96
        let (w, decoded, _) = try Self.matrix(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 11)
        var rng = SplitMix64(seed: UInt64(batch))
        let x = rng.floats(batch * columns, scale: 2)
        // Largest |x| of each 32-element activation block: (batch, columns / 32).
        let blockMax = (0..<(batch * columns / 32)).map { blk in
            (0..<32).map { abs(Double(x[blk * 32 + $0])) }.max()!
        }
        let floatWeights = type == .f32 || type == .f16 || type == .bf16
        for threads in [1, 2] {
            for exact in [true, false] {
                let linear = Linear(pool: ComputePool(threadCount: threads), smallBatchLimit: 8, floatSmallBatchLimit: 8, exact: exact)
                var y = [Float](repeating: .nan, count: batch * rows)
                linear.matmul(w, x, &y, batch: batch)
                for b in 0..<batch {
                    for r in 0..<rows {
                        var ref = 0.0
                        var bound = 0.0
                        for i in 0..<columns {
                            let wi = Double(decoded[r * columns + i])
                            ref += wi * Double(x[b * columns + i])
                            // 8-bit activation rounding: half a step of the block's largest |x|.
                            let roundsActivations = !(exact || batch > 8 || floatWeights)
                            bound += abs(wi) * (roundsActivations ? blockMax[(b * columns + i) / 32] / 127 * 0.51 : 1e-5 * abs(Double(x[b * columns + i])))
                        }
                        let got = Double(y[b * rows + r])
                        #expect(abs(got - ref) <= bound + 1e-4, "type \(type) batch \(batch) threads \(threads) exact \(exact) row \(r): \(got) vs \(ref)")
                    }
                }
            }
        }
    }

    @Test func floatWeightsSwitchToSGEMMSoonerThanQuantisedOnes() {
        let linear = Linear(pool: ComputePool(threadCount: 1))
        for type: GGMLType in [.f32, .f16, .bf16] {
            #expect(!linear.usesSGEMM(batch: 1, type: type))
            #expect(!linear.usesSGEMM(batch: linear.floatSmallBatchLimit, type: type))
            #expect(linear.usesSGEMM(batch: linear.floatSmallBatchLimit + 1, type: type))
        }
        for type: GGMLType in [.q4_0, .q4_1, .q8_0, .q4_K, .q6_K] {
            #expect(!linear.usesSGEMM(batch: linear.floatSmallBatchLimit + 1, type: type))
            #expect(linear.usesSGEMM(batch: linear.smallBatchLimit + 1, type: type))
        }
        #expect(linear.floatSmallBatchLimit < linear.smallBatchLimit)
    }

    @Test(arguments: [1, 4, 12])
    func groupedProductsEqualSeparateOnes(batch: Int) throws {
        // Mixed formats in one group: two dot formats share the pass.
        let (a, _, _) = try Self.matrix(.q4_1, rows: 37, columns: 64, seed: 1)
        let (b, _, _) = try Self.matrix(.q8_0, rows: 5, columns: 64, seed: 2)
        let (c, _, _) = try Self.matrix(.q4_1, rows: 64, columns: 64, seed: 3)
        var rng = SplitMix64(seed: 4)
        let x = rng.floats(batch * 64)
        for exact in [false, true] {
            let linear = Linear(pool: ComputePool(threadCount: 2), exact: exact)
            var ya = [Float](repeating: 0, count: batch * 37), yb = [Float](repeating: 0, count: batch * 5)
            var yc = [Float](repeating: 0, count: batch * 64)
            ya.withUnsafeMutableBufferPointer { pa in
                yb.withUnsafeMutableBufferPointer { pb in
                    yc.withUnsafeMutableBufferPointer { pc in
                        linear.matmul([(a, pa.baseAddress!), (b, pb.baseAddress!), (c, pc.baseAddress!)], x, batch: batch)
                    }
                }
            }
            for (w, grouped) in [(a, ya), (b, yb), (c, yc)] {
                var alone = [Float](repeating: 0, count: batch * w.rows)
                linear.matmul(w, x, &alone, batch: batch)
                #expect(grouped == alone, "exact \(exact), rows \(w.rows)")
            }
        }
    }

    /// A row's result may depend on the rows sharing its batch only through float rounding
    /// (the batched kernels sum in another order): concurrent sequences merged into one
    /// micro-batch get their own logits to within a few ulps, so only exact near-ties can differ.
    @Test(arguments: [GGMLType.q4_1, .q8_0, .f16, .q4_0])
    func aRowsResultDependsOnItsBatchOnlyThroughRounding(type: GGMLType) throws {
        let (w, _, _) = try Self.matrix(type, rows: 40, columns: 128, seed: 21)
        var rng = SplitMix64(seed: 22)
        let x = rng.floats(8 * 128)
        let linear = Linear(pool: ComputePool(threadCount: 2))
        var alone = [Float](repeating: 0, count: 40)
        linear.matvec(w, x, &alone)
        for batch in [2, 3, 4, 5, 8] {
            var y = [Float](repeating: 0, count: batch * 40)
            linear.matmul(w, x, &y, batch: batch)
            #expect(approxEqual(Array(y[0..<40]), alone, rtol: 1e-6), "\(type) batch \(batch)")
        }
    }

    @Test func resultsAgreeAcrossThreadCounts() throws {
        let (w, _, _) = try Self.matrix(.q4_1, rows: 200, columns: 128, seed: 9)
        var rng = SplitMix64(seed: 1)
        let x = rng.floats(128)
        var outputs: [[Float]] = []
        for threads in [1, 2, 3] {
            let linear = Linear(pool: ComputePool(threadCount: threads))
            var y = [Float](repeating: 0, count: 200)
            linear.matvec(w, x, &y)
            outputs.append(y)
        }
        #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2])  // same rows, same kernel: bitwise equal
    }

    @Test func weightMatrixRejectsWrongByteCount() throws {
        let box = DataBox(Data(count: 33))
        #expect(throws: KernelError.self) {
            try WeightMatrix(type: .q8_0, rows: 1, columns: 32, bytes: box.bytes, owner: box)
        }
        #expect(throws: KernelError.unsupportedType(.q5_0)) {
            try WeightMatrix(type: .q5_0, rows: 1, columns: 32, bytes: box.bytes, owner: box)
        }
    }
}

/// Owns bytes at a stable address for a WeightMatrix in tests.
final class DataBox: @unchecked Sendable {
    // SAFETY: written once in init, read-only afterwards.
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(_ data: Data) {
        count = data.count
        pointer = .allocate(byteCount: max(count, 1), alignment: 64)
        data.withUnsafeBytes { if let base = $0.baseAddress { pointer.copyMemory(from: base, byteCount: count) } }
    }
    deinit { pointer.deallocate() }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
}
