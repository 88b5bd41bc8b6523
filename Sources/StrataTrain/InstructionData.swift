import Foundation

/// One instruction-tuning example in the Alpaca shape (`instruction`, optional `input`, `output`).
public struct InstructionRecord: Sendable, Equatable {
    /// The task.
    public var instruction: String
    /// Context for the task; empty when there is none.
    public var input: String
    /// The answer the model is trained to give.
    public var output: String

    /// A record.
    public init(instruction: String, input: String = "", output: String) {
        self.instruction = instruction
        self.input = input
        self.output = output
    }

    /// The user turn: the instruction, then the input after a blank line when there is one.
    public var userContent: String {
        input.isEmpty ? instruction : instruction + "\n\n" + input
    }
}

/// Reads JSON Lines files of instruction examples.
public enum InstructionData {
    /// Reads a `.jsonl` file (see ``parse(_:source:)``).
    /// - Throws: ``TrainError/io(path:reason:)`` when the file cannot be read, or the parse errors.
    public static func read(path: String) throws(TrainError) -> [InstructionRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "cannot read the file")
        }
        return try parse(data, source: path)
    }

    /// Parses one JSON object per line with string fields `instruction` and `output` and an
    /// optional string `input`; other fields are ignored, blank lines skipped.
    /// - Parameter source: the name errors report.
    /// - Throws: ``TrainError/invalidData(source:line:reason:)`` naming the first bad line.
    public static func parse(_ data: Data, source: String) throws(TrainError) -> [InstructionRecord] {
        var records: [InstructionRecord] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line))
            } catch {
                throw .invalidData(source: source, line: lineNumber, reason: "not valid JSON")
            }
            guard let fields = object as? [String: Any] else {
                throw .invalidData(source: source, line: lineNumber, reason: "not a JSON object")
            }
            func text(_ key: String, required: Bool) throws(TrainError) -> String {
                switch fields[key] {
                case let s as String: return s
                case nil where !required, is NSNull where !required: return ""
                case nil: throw .invalidData(source: source, line: lineNumber, reason: "missing \"\(key)\"")
                default: throw .invalidData(source: source, line: lineNumber, reason: "\"\(key)\" is not a string")
                }
            }
            let record = InstructionRecord(
                instruction: try text("instruction", required: true), input: try text("input", required: false),
                output: try text("output", required: true))
            guard !record.instruction.isEmpty, !record.output.isEmpty else {
                throw .invalidData(source: source, line: lineNumber, reason: "empty instruction or output")
            }
            records.append(record)
        }
        return records
    }
}
