import Foundation

/// A cluster as `cluster/*.json` describes it: where each worker listens, how it computes, and
/// optionally which layers it holds. Files may carry `//` comments (stripped before parsing).
public struct ClusterTopology: Sendable, Equatable, Codable {
    public struct Worker: Sendable, Equatable, Codable {
        public var host: String
        public var port: Int
        public var threads: Int?
        public var numaNode: Int?
        /// Half-open block range "a-b" (0-based, as in `--split 0-10,10-20,20-30`).
        public var layers: String?

        enum CodingKeys: String, CodingKey {
            case host, port, threads, layers
            case numaNode = "numa_node"
        }

        public init(host: String, port: Int, threads: Int? = nil, numaNode: Int? = nil, layers: String? = nil) {
            self.host = host
            self.port = port
            self.threads = threads
            self.numaNode = numaNode
            self.layers = layers
        }

        public var address: String { "\(host):\(port)" }
    }

    /// The model every worker serves (each loads its own copy when the hash matches).
    public var model: String?
    /// A file holding the shared secret workers and coordinator prove to each other.
    public var secretFile: String?
    public var workers: [Worker]
    /// Idle workers that may take over a lost worker's blocks (no `layers`: they get the lost ones).
    public var spares: [Worker]?

    enum CodingKeys: String, CodingKey {
        case model, workers, spares
        case secretFile = "secret_file"
    }

    public init(model: String? = nil, secretFile: String? = nil, workers: [Worker], spares: [Worker]? = nil) {
        self.model = model
        self.secretFile = secretFile
        self.workers = workers
        self.spares = spares
    }

    /// Parses a topology file's text.
    public static func parse(_ text: String, source: String = "topology") throws(AppError) -> ClusterTopology {
        let json = stripComments(text)
        let topology: ClusterTopology
        do {
            topology = try JSONDecoder().decode(ClusterTopology.self, from: Data(json.utf8))
        } catch {
            throw .invalidArgument("\(source): \(describe(error))")
        }
        try topology.validate(source: source)
        return topology
    }

    /// Reads and parses a topology file.
    public static func load(path: String) throws(AppError) -> ClusterTopology {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidArgument("cannot read cluster file \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// The explicit split, if every worker names its layers; nil when none does.
    public func split() throws(AppError) -> [Range<Int>]? {
        let named = workers.compactMap(\.layers)
        if named.isEmpty { return nil }
        guard named.count == workers.count else {
            throw .invalidArgument("either every worker names its layers or none does")
        }
        return try parseSplit(named.joined(separator: ","))
    }

    func validate(source: String) throws(AppError) {
        guard !workers.isEmpty else { throw .invalidArgument("\(source): no workers") }
        var seen = Set<String>()
        for w in spares ?? [] where w.layers != nil {
            throw .invalidArgument("\(source): spare \(w.address) names layers; a spare takes whichever blocks were lost")
        }
        for w in workers + (spares ?? []) {
            guard !w.host.isEmpty else { throw .invalidArgument("\(source): a worker has an empty host") }
            guard (1...65535).contains(w.port) else { throw .invalidArgument("\(source): port \(w.port) of \(w.host) is out of range") }
            guard seen.insert(w.address).inserted else { throw .invalidArgument("\(source): \(w.address) appears twice") }
            if let t = w.threads, t < 1 { throw .invalidArgument("\(source): \(w.address) has threads \(t)") }
            if let n = w.numaNode, n < 0 { throw .invalidArgument("\(source): \(w.address) has numa_node \(n)") }
        }
        _ = try split()
    }
}

/// Parses "0-10,10-20,20-30" into contiguous half-open block ranges starting at 0.
public func parseSplit(_ text: String) throws(AppError) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    for part in text.split(separator: ",") {
        let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard bounds.count == 2, let lo = bounds[0], let hi = bounds[1], lo >= 0, hi > lo else {
            throw .invalidArgument("split \"\(part)\" is not a range a-b with a < b")
        }
        ranges.append(lo..<hi)
    }
    guard let first = ranges.first, first.lowerBound == 0 else { throw .invalidArgument("the split must start at block 0") }
    for (a, b) in zip(ranges, ranges.dropFirst()) where a.upperBound != b.lowerBound {
        throw .invalidArgument("split ranges \(a.lowerBound)-\(a.upperBound) and \(b.lowerBound)-\(b.upperBound) are not contiguous")
    }
    return ranges
}

/// Removes `//` comments outside strings, keeping line structure for error positions.
func stripComments(_ text: String) -> String {
    var out = ""
    var inString = false
    var escaped = false
    var chars = Array(text)
    var i = 0
    while i < chars.count {
        let ch = chars[i]
        if inString {
            out.append(ch)
            if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
        } else if ch == "\"" {
            inString = true
            out.append(ch)
        } else if ch == "/", i + 1 < chars.count, chars[i + 1] == "/" {
            while i < chars.count, chars[i] != "\n" { i += 1 }
            continue
        } else {
            out.append(ch)
        }
        i += 1
    }
    chars.removeAll()
    return out
}

private func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "missing \"\(key.stringValue)\"" + path(context)
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        return "wrong type" + path(context) + ": \(context.debugDescription)"
    case DecodingError.dataCorrupted(let context):
        return "not valid JSON: \(context.debugDescription)"
    default:
        return "\(error)"
    }
}

private func path(_ context: DecodingError.Context) -> String {
    context.codingPath.isEmpty ? "" : " at " + context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
}
