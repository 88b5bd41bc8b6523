import Foundation
import StrataFormats
import Testing

@Suite struct SafetensorsTests {
    /// `u64 header length | JSON header | data`, as the safetensors format defines it.
    static func file(header: String, data: Data) -> Data {
        var out = Data()
        let h = Data(header.utf8)
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(h)
        out.append(data)
        return out
    }

    static func parse(_ bytes: Data) throws -> SafetensorsFile {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        try bytes.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try SafetensorsFile(path: path)
    }

    static func error(_ bytes: Data) throws -> SafetensorsError? {
        do {
            _ = try parse(bytes)
            return nil
        } catch let e as SafetensorsError {
            return e
        }
    }

    let floats: Data = [Float](arrayLiteral: 1, 2, 3, 4, 5, 6).withUnsafeBufferPointer { Data(buffer: $0) }

    @Test func readsTensorsInPlace() throws {
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"h":{"dtype":"F16","shape":[2],"data_offsets":[24,28]}}"#
        let half: [UInt16] = [0x3C00, 0xC000]  // 1.0, -2.0
        let file = try Self.parse(Self.file(header: header, data: floats + half.withUnsafeBufferPointer { Data(buffer: $0) }))
        let w = try #require(file.tensors["w"])
        #expect(w.shape == [2, 3] && w.type == .f32)
        #expect(Array(w.data.bindMemory(to: Float.self)) == [1, 2, 3, 4, 5, 6])
        #expect(file.tensors["h"]?.type == .f16)
        #expect(file.metadata["format"] == "pt")
    }

    @Test func rejectsUnsupportedDType() throws {
        let header = #"{"w":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}"#
        #expect(try Self.error(Self.file(header: header, data: floats)) == .unsupportedDType(tensor: "w", dtype: "I64"))
    }

    @Test func rejectsSizeMismatch() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}}"#
        #expect(try Self.error(Self.file(header: header, data: floats)) == .sizeMismatch(tensor: "w", expected: 16, actual: 24))
    }

    @Test func rejectsDataPastTheEnd() throws {
        let header = #"{"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#
        #expect(try Self.error(Self.file(header: header, data: floats)) == .outOfBounds(tensor: "w", end: 32, dataSize: 24))
    }

    @Test func rejectsOverlap() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        #expect(try Self.error(Self.file(header: header, data: floats)) == .overlapping("a", "b"))
    }

    @Test func rejectsHeaderLongerThanFile() throws {
        var bytes = Self.file(header: "{}", data: Data())
        bytes.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0, 0, 0, 0, 0, 0])
        #expect(try Self.error(bytes).map { if case .truncated = $0 { true } else { false } } == true)
    }

    @Test func rejectsHugeHeaderLength() throws {
        var bytes = Self.file(header: "{}", data: Data())
        bytes.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        #expect(try Self.error(bytes).map { if case .headerTooLarge = $0 { true } else { false } } == true)
    }

    @Test func rejectsNonJSONHeader() throws {
        #expect(try Self.error(Self.file(header: "not json", data: Data())).map { if case .invalidHeader = $0 { true } else { false } } == true)
    }

    @Test func truncatedFilesThrow() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
        let full = Self.file(header: header, data: floats)
        for cut in 0..<full.count {
            #expect(try Self.error(full.prefix(cut)) != nil, "cut at \(cut)")
        }
    }

    @Test func mergesShardsFromTheIndex() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.file(header: #"{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]}}"#, data: floats)
            .write(to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try Self.file(header: #"{"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, data: floats.prefix(12))
            .write(to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        let index = #"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        let checkpoint = try SafetensorsCheckpoint(directory: dir.path)
        #expect(Set(checkpoint.tensors.keys) == ["a", "b"])
        #expect(checkpoint.tensors["b"]?.shape == [3])
    }
}
