#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Errors from opening and mapping files.
public enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case cannotStat(path: String, errno: Int32)
    case cannotMap(path: String, errno: Int32)
    case notRegularFile(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let e): "cannot open \(path): \(String(cString: strerror(e)))"
        case .cannotStat(let path, let e): "cannot stat \(path): \(String(cString: strerror(e)))"
        case .cannotMap(let path, let e): "cannot map \(path): \(String(cString: strerror(e)))"
        case .notRegularFile(let path): "\(path) is not a regular file"
        }
    }
}

/// A whole file mapped read-only into memory. Tensor data is read in place, never copied.
///
/// SAFETY: the mapping is created once in `init`, never written (PROT_READ) and unmapped only in
/// `deinit`, so sharing the immutable bytes across threads is sound.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The file's bytes; valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(FileError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotStat(path: path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notRegularFile(path: path) }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else { throw .cannotMap(path: path, errno: errno) }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    public var count: Int { bytes.count }
}
