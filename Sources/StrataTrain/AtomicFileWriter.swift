import StrataWire
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file beside its destination and renames it into place only when complete, so a
/// crash or an error never leaves a half-written file under the destination's name. Keeps a
/// running CRC-32C of everything written.
final class AtomicFileWriter {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private var finished = false
    private(set) var checksum = CRC32C()
    private(set) var bytesWritten = 0

    init(path: String) throws(TrainError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = (directory.isEmpty ? "" : directory + "/") + "." + name + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot create \(temporaryPath): \(Self.message(errno))") }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !finished { unlink(temporaryPath) }
    }

    /// Appends bytes (and folds them into the checksum).
    func write(_ bytes: UnsafeRawBufferPointer) throws(TrainError) {
        guard let base = bytes.baseAddress else { return }
        checksum.update(bytes)
        var done = 0
        while done < bytes.count {
            let n = posixWrite(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "write failed: \(Self.message(errno))")
            }
            done += n
        }
        bytesWritten += bytes.count
    }

    func write(_ bytes: [UInt8]) throws(TrainError) {
        let result: Result<Void, TrainError> = bytes.withUnsafeBytes { raw in
            do throws(TrainError) {
                try write(raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Syncs, closes and renames the file into place.
    func finish() throws(TrainError) {
        guard fsync(fd) == 0 else { throw .io(path: path, reason: "fsync failed: \(Self.message(errno))") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw .io(path: path, reason: "close failed: \(Self.message(errno))") }
        guard rename(temporaryPath, path) == 0 else {
            throw .io(path: path, reason: "cannot rename \(temporaryPath) into place: \(Self.message(errno))")
        }
        finished = true
    }

    static func message(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// The system `write` (the method above shadows the name inside the class).
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
