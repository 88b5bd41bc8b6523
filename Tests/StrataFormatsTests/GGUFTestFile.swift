import Foundation
import StrataFormats

/// Builds small valid GGUF files for the reader's tests, and writes them to a temporary path.
enum GGUFTestFile {
    /// A file with one key of every scalar type, arrays, and three tensors of different types.
    static func valid() throws -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("test.u8", .uint8(200))
        w.set("test.i8", .int8(-100))
        w.set("test.u16", .uint16(60000))
        w.set("test.i16", .int16(-30000))
        w.set("test.u32", .uint32(4_000_000_000))
        w.set("test.i32", .int32(-2_000_000_000))
        w.set("test.u64", .uint64(1 << 40))
        w.set("test.i64", .int64(-(1 << 40)))
        w.set("test.f32", .float32(1.5))
        w.set("test.f64", .float64(-2.25))
        w.set("test.bool", .bool(true))
        w.set("test.string", .string("héllo ✓"))
        w.set("test.strings", .array(.string, [.string("a"), .string(""), .string("ü")]))
        w.set("test.ints", .array(.int32, [.int32(1), .int32(-2), .int32(3)]))
        w.set("test.nested", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.uint8, [])]))
        try w.add(name: "a", dimensions: [4, 2], floats: (0..<8).map(Float.init))
        try w.add(name: "b", dimensions: [32], type: .q8_0, data: Data(repeating: 1, count: 34))
        try w.add(name: "c", dimensions: [3], floats: [1, 2, 3])
        return w
    }

    static func write(_ data: Data) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-\(UUID().uuidString).gguf").path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Parses `data` through a temporary file, removing it afterwards.
    static func parse(_ data: Data) throws -> GGUFFile {
        let path = try write(data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    /// Parses and returns the GGUF error, or nil if the file is valid.
    static func error(_ data: Data) throws -> GGUFError? {
        do {
            _ = try parse(data)
            return nil
        } catch let e as GGUFError {
            return e
        }
    }
}

extension Data {
    /// Overwrites bytes at `offset` with a little-endian integer.
    func patching<T: FixedWidthInteger>(_ value: T, at offset: Int) -> Data {
        var copy = self
        Swift.withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(offset..<(offset + MemoryLayout<T>.size), with: $0) }
        return copy
    }

    /// Offset of the first occurrence of `needle`.
    func offset(of needle: String) -> Int? {
        range(of: Data(needle.utf8)).map { $0.lowerBound }
    }
}
