import Foundation
import StrataFormats
import StrataTestSupport
import Testing

/// One test per kind of damage, each asserting the specific error; then truncation at every offset.
@Suite struct GGUFCorruptionTests {
    let valid: Data

    init() throws {
        valid = try GGUFTestFile.valid().serialized()
    }

    @Test func rejectsBadMagic() throws {
        #expect(try GGUFTestFile.error(valid.patching(UInt32(0x1234_5678), at: 0)) == .badMagic(0x1234_5678))
    }

    @Test(arguments: [UInt32(0), 1, 4, 0xFFFF_FFFF])
    func rejectsUnsupportedVersion(version: UInt32) throws {
        #expect(try GGUFTestFile.error(valid.patching(version, at: 4)) == .unsupportedVersion(version))
    }

    @Test func rejectsTensorCountLargerThanTheFileCanHold() throws {
        let e = try GGUFTestFile.error(valid.patching(UInt64(1) << 60, at: 8))
        guard case .countTooLarge(what: "tensor count", count: 1 << 60, limit: _) = e else {
            Issue.record("got \(String(describing: e))")
            return
        }
    }

    @Test func rejectsMetadataCountLargerThanTheFileCanHold() throws {
        let e = try GGUFTestFile.error(valid.patching(UInt64.max, at: 16))
        guard case .countTooLarge(what: "metadata count", count: UInt64.max, limit: _) = e else {
            Issue.record("got \(String(describing: e))")
            return
        }
    }

    @Test func rejectsDuplicateKey() throws {
        var w = GGUFWriter()
        w.set("k", .uint8(1))
        w.set("j", .uint8(2))
        var data = w.serialized()
        let at = try #require(data.offset(of: "j"))
        data[at] = UInt8(ascii: "k")
        #expect(try GGUFTestFile.error(data) == .duplicateKey("k"))
    }

    @Test func rejectsDuplicateTensorName() throws {
        var w = GGUFWriter()
        try w.add(name: "x", dimensions: [1], floats: [1])
        try w.add(name: "y", dimensions: [1], floats: [2])
        var data = w.serialized()
        let at = try #require(data.offset(of: "y"))
        data[at] = UInt8(ascii: "x")
        #expect(try GGUFTestFile.error(data) == .duplicateTensor("x"))
    }

    @Test func rejectsUnknownValueType() throws {
        var w = GGUFWriter()
        w.set("key", .uint8(1))
        let data = w.serialized()
        // header 24 bytes, key length 8 + "key" 3 → type field at 35
        #expect(try GGUFTestFile.error(data.patching(UInt32(99), at: 35)) == .unknownValueType(key: "key", type: 99))
    }

    @Test func rejectsUnknownTensorType() throws {
        let (data, typeOffset) = try singleTensorFile()
        #expect(try GGUFTestFile.error(data.patching(UInt32(77), at: typeOffset)) == .unknownTensorType(tensor: "t", type: 77))
    }

    @Test func rejectsTooManyDimensions() throws {
        let (data, typeOffset) = try singleTensorFile()
        // n_dims sits before the single 8-byte dimension
        #expect(try GGUFTestFile.error(data.patching(UInt32(5), at: typeOffset - 12)) == .tooManyDimensions(tensor: "t", count: 5))
    }

    @Test func rejectsRowNotMultipleOfBlock() throws {
        let (data, typeOffset) = try singleTensorFile()
        // 64 floats as Q8_0 is fine; declare the row as 40 elements of Q8_0 instead
        let patched = data.patching(UInt64(40), at: typeOffset - 8).patching(UInt32(8), at: typeOffset)
        #expect(try GGUFTestFile.error(patched) == .rowNotBlockMultiple(tensor: "t", rowLength: 40, blockElements: 32))
    }

    @Test func rejectsTensorPastTheEnd() throws {
        let (data, typeOffset) = try singleTensorFile()
        let e = try GGUFTestFile.error(data.patching(UInt64(1 << 20), at: typeOffset + 4))
        guard case .tensorOutOfBounds(tensor: "t", end: _, fileSize: _) = e else {
            Issue.record("got \(String(describing: e))")
            return
        }
    }

    @Test func rejectsMisalignedTensor() throws {
        let (data, typeOffset) = try singleTensorFile()
        #expect(try GGUFTestFile.error(data.patching(UInt64(4), at: typeOffset + 4)) == .misalignedTensor(tensor: "t", offset: 4, alignment: 32))
    }

    @Test func rejectsAlignmentNotPowerOfTwo() throws {
        var w = GGUFWriter()
        w.set("general.alignment", .uint32(24))
        #expect(try GGUFTestFile.error(w.serialized()) == .badAlignment(24))
    }

    @Test func rejectsOverlappingTensors() throws {
        var w = GGUFWriter()
        try w.add(name: "p", dimensions: [16], floats: Array(repeating: 1, count: 16))
        try w.add(name: "q", dimensions: [16], floats: Array(repeating: 2, count: 16))
        let data = w.serialized()
        let q = try #require(data.offset(of: "q"))
        // q's offset field: name(1) + n_dims(4) + dim(8) + type(4)
        #expect(try GGUFTestFile.error(data.patching(UInt64(32), at: q + 1 + 4 + 8 + 4)) == .overlappingTensors("p", "q"))
    }

    @Test func rejectsHugeStringLength() throws {
        var w = GGUFWriter()
        w.set("s", .string("abc"))
        let e = try GGUFTestFile.error(w.serialized().patching(UInt64.max, at: 24 + 8 + 1 + 4))
        guard case .truncated = e else {
            Issue.record("got \(String(describing: e))")
            return
        }
    }

    @Test func rejectsHugeArrayLength() throws {
        var w = GGUFWriter()
        w.set("a", .array(.uint32, [.uint32(1)]))
        // key(8+1), type(4), element type(4) → count at 24+17
        let e = try GGUFTestFile.error(w.serialized().patching(UInt64(1) << 62, at: 24 + 8 + 1 + 4 + 4))
        guard case .countTooLarge(what: "array length of a", count: 1 << 62, limit: _) = e else {
            Issue.record("got \(String(describing: e))")
            return
        }
    }

    @Test func truncationAtEveryOffsetThrowsWithoutCrashing() throws {
        // Cutting anywhere before the last tensor's data ends must fail; the data section's
        // padding after the last tensor is the only part that may go.
        let file = try GGUFTestFile.parse(valid)
        let lastEnd = file.dataOffset + file.tensors.map { $0.offset + $0.byteCount }.max()!
        for cut in 0..<lastEnd {
            let e = try GGUFTestFile.error(valid.prefix(cut))
            #expect(e != nil, "truncated at \(cut) of \(valid.count) bytes parsed")
        }
        #expect(try GGUFTestFile.error(valid.prefix(lastEnd)) == nil)
    }

    @Test func randomByteFlipsNeverCrash() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<300 {
            var data = valid
            for _ in 0..<3 {
                let at = Int(rng.next() % UInt64(data.count))
                data[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            _ = try GGUFTestFile.error(data)  // any outcome but a trap is acceptable
        }
    }

    /// A file with one F32 tensor "t" of 64 elements, and the offset of its type field.
    private func singleTensorFile() throws -> (Data, Int) {
        var w = GGUFWriter()
        try w.add(name: "t", dimensions: [64], floats: Array(repeating: 0.5, count: 64))
        let data = w.serialized()
        let name = try #require(data.offset(of: "t"))
        return (data, name + 1 + 4 + 8)
    }
}
