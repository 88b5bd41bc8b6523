import Foundation

/// Files of the repository that tests read in place: `proto/vectors`, `FuzzTesting/FailCases`.
enum RepositoryFiles {
    /// The package root: this file is `<root>/Tests/StrataWireTests/RepositoryFiles.swift`.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let vectors = root.appendingPathComponent("proto/vectors")
    static let failCases = root.appendingPathComponent("FuzzTesting/FailCases")

    /// The regular files in `directory`, sorted by name; empty when it does not exist.
    static func files(in directory: URL, withExtension ext: String? = nil) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") && (ext == nil || $0.hasSuffix("." + ext!)) }
            .map { directory.appendingPathComponent($0) }
    }
}
