import Foundation
import StrataFormats
import StrataTestSupport
import Testing

@Suite struct GGUFReaderTests {
    @Test func roundTripsEveryMetadataTypeAndTensor() throws {
        let writer = try GGUFTestFile.valid()
        let file = try GGUFTestFile.parse(writer.serialized())
        #expect(file.version == 3)
        let m = file.metadata
        #expect(m["test.u8"] == .uint8(200))
        #expect(m["test.i8"] == .int8(-100))
        #expect(m["test.u16"] == .uint16(60000))
        #expect(m["test.i16"] == .int16(-30000))
        #expect(m["test.u32"] == .uint32(4_000_000_000))
        #expect(m["test.i32"] == .int32(-2_000_000_000))
        #expect(m["test.u64"] == .uint64(1 << 40))
        #expect(m["test.i64"] == .int64(-(1 << 40)))
        #expect(m["test.f32"] == .float32(1.5))
        #expect(m["test.f64"] == .float64(-2.25))
        #expect(m["test.bool"] == .bool(true))
        #expect(try m.string("test.string") == "héllo ✓")
        #expect(try m.strings("test.strings") == ["a", "", "ü"])
        #expect(try m.ints("test.ints") == [1, -2, 3])
        #expect(m["test.nested"] == .array(.array, [.array(.uint8, [.uint8(1)]), .array(.uint8, [])]))
        #expect(m.keys.first == "general.architecture")

        #expect(file.tensors.map(\.name) == ["a", "b", "c"])
        let a = try #require(file.tensor(named: "a"))
        #expect(a.dimensions == [4, 2] && a.rowLength == 4 && a.rowCount == 2 && a.type == .f32)
        #expect(Array(file.data(of: a).bindMemory(to: Float.self)) == (0..<8).map(Float.init))
        let b = try #require(file.tensor(named: "b"))
        #expect(b.type == .q8_0 && b.byteCount == 34)
        #expect(file.dataOffset % 32 == 0)
        for t in file.tensors { #expect(t.offset % file.alignment == 0) }
    }

    @Test func typedAccessorsRejectWrongTypes() throws {
        let file = try GGUFTestFile.parse(try GGUFTestFile.valid().serialized())
        #expect(throws: GGUFError.wrongValueType(key: "test.string", expected: "integer", actual: "string")) {
            try file.metadata.int("test.string")
        }
        #expect(try file.metadata.int("absent") == nil)
    }

    @Test func readsVersion2AndCustomAlignment() throws {
        var writer = try GGUFTestFile.valid()
        writer.version = 2
        writer.alignment = 64
        let file = try GGUFTestFile.parse(writer.serialized())
        #expect(file.version == 2)
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
    }

    @Test func readsTheDefaultModelWhenInstalled() throws {
        guard let path = ModelFixture.path() else { return }
        let file = try GGUFFile(path: path)
        #expect(file.tensors.count == 272)
        #expect(try file.metadata.int("llama.block_count") == 30)
        #expect(try file.metadata.strings("tokenizer.ggml.tokens")?.count == 49152)
        #expect(file.tensor(named: "token_embd.weight")?.type == .q8_0)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .q4_1)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.dimensions == [576, 576])
    }
}
