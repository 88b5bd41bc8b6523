/// The value types of GGUF metadata, numbered as in the specification.
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    public var description: String {
        switch self {
        case .uint8: "u8"
        case .int8: "i8"
        case .uint16: "u16"
        case .int16: "i16"
        case .uint32: "u32"
        case .int32: "i32"
        case .float32: "f32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "u64"
        case .int64: "i64"
        case .float64: "f64"
        }
    }

    /// Bytes of one value of a fixed-size type; nil for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }
}

/// One metadata value.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// Any integer type, if it fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// Any float or integer type as a Double.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [GGUFValue]? {
        if case .array(_, let values) = self { return values }
        return nil
    }

    /// A short human-readable rendering; long arrays are summarised.
    public var summary: String {
        switch self {
        case .string(let s): s.count > 60 ? "\"\(s.prefix(57))…\" (\(s.utf8.count) bytes)" : "\"\(s)\""
        case .array(let t, let values):
            values.count > 8
                ? "[\(t)] × \(values.count)" : "[" + values.map(\.summary).joined(separator: ", ") + "]"
        case .bool(let b): "\(b)"
        case .float32(let f): "\(f)"
        case .float64(let f): "\(f)"
        default: intValue.map { "\($0)" } ?? "?"
        }
    }
}

/// Metadata in file order, with typed accessors that throw a clear error on a wrong type.
public struct GGUFMetadata: Sendable {
    public private(set) var keys: [String] = []
    public private(set) var values: [String: GGUFValue] = [:]

    public init() {}

    /// Adds a key; returns false if it was already present.
    @discardableResult
    public mutating func set(_ key: String, _ value: GGUFValue) -> Bool {
        if values[key] != nil {
            values[key] = value
            return false
        }
        keys.append(key)
        values[key] = value
        return true
    }

    public subscript(key: String) -> GGUFValue? { values[key] }

    public func int(_ key: String) throws(GGUFError) -> Int? {
        guard let v = values[key] else { return nil }
        guard let i = v.intValue else { throw .wrongValueType(key: key, expected: "integer", actual: "\(v.type)") }
        return i
    }

    public func double(_ key: String) throws(GGUFError) -> Double? {
        guard let v = values[key] else { return nil }
        guard let d = v.doubleValue else { throw .wrongValueType(key: key, expected: "number", actual: "\(v.type)") }
        return d
    }

    public func string(_ key: String) throws(GGUFError) -> String? {
        guard let v = values[key] else { return nil }
        guard let s = v.stringValue else { throw .wrongValueType(key: key, expected: "string", actual: "\(v.type)") }
        return s
    }

    public func bool(_ key: String) throws(GGUFError) -> Bool? {
        guard let v = values[key] else { return nil }
        guard let b = v.boolValue else { throw .wrongValueType(key: key, expected: "bool", actual: "\(v.type)") }
        return b
    }

    public func strings(_ key: String) throws(GGUFError) -> [String]? {
        guard let v = values[key] else { return nil }
        guard case .array(.string, let items) = v else {
            throw .wrongValueType(key: key, expected: "array of strings", actual: "\(v.type)")
        }
        return items.compactMap(\.stringValue)
    }

    public func ints(_ key: String) throws(GGUFError) -> [Int]? {
        guard let v = values[key] else { return nil }
        guard case .array(_, let items) = v else {
            throw .wrongValueType(key: key, expected: "array of integers", actual: "\(v.type)")
        }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let i = item.intValue else {
                throw .wrongValueType(key: key, expected: "array of integers", actual: "array of \(item.type)")
            }
            out.append(i)
        }
        return out
    }

    public func floats(_ key: String) throws(GGUFError) -> [Float]? {
        guard let v = values[key] else { return nil }
        guard case .array(_, let items) = v else {
            throw .wrongValueType(key: key, expected: "array of numbers", actual: "\(v.type)")
        }
        var out: [Float] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let d = item.doubleValue else {
                throw .wrongValueType(key: key, expected: "array of numbers", actual: "array of \(item.type)")
            }
            out.append(Float(d))
        }
        return out
    }
}
