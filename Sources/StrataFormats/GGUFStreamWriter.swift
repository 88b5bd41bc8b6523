#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// Errors writing a GGUF file.
public enum GGUFWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A planned tensor is invalid (duplicate name, row not a whole number of blocks, too large).
    case invalidTensor(GGUFError)
    case cannotCreate(path: String, errno: Int32)
    case cannotWrite(path: String, errno: Int32)
    case cannotRename(from: String, to: String, errno: Int32)
    /// More bytes were written than the planned tensors hold.
    case tooMuchData(expected: Int)
    /// `finish` was called before every planned tensor was written.
    case incomplete(tensor: String, written: Int, expected: Int)
    case alreadyFinished

    public var description: String {
        switch self {
        case .invalidTensor(let e): e.description
        case .cannotCreate(let p, let e): "cannot create \(p): \(String(cString: strerror(e)))"
        case .cannotWrite(let p, let e): "cannot write \(p): \(String(cString: strerror(e)))"
        case .cannotRename(let a, let b, let e): "cannot rename \(a) to \(b): \(String(cString: strerror(e)))"
        case .tooMuchData(let n): "more tensor data than the planned \(n) bytes"
        case .incomplete(let t, let w, let e): "tensor \"\(t)\" got \(w) of its \(e) bytes before the file was finished"
        case .alreadyFinished: "the GGUF file is already finished"
        }
    }
}

/// Writes a GGUF v3 file whose tensor data is streamed in, so no more than one buffer of it is
/// ever in memory (``GGUFWriter`` builds the whole file in a `Data`).
///
/// The tensors are declared up front (their sizes fix every offset in the header); their bytes
/// then arrive in declaration order through ``write(_:)``, in chunks of any size. Everything goes
/// to a temporary file beside the destination, renamed over it by ``finish()``: a writer that is
/// dropped unfinished, or fails, removes the temporary file and leaves the destination untouched.
public final class GGUFStreamWriter {
    /// A tensor to be written: name, ggml-order dimensions (`dimensions[0]` is the row length), type.
    public struct TensorPlan: Sendable, Equatable {
        public var name: String
        public var dimensions: [Int]
        public var type: GGMLType

        public init(name: String, dimensions: [Int], type: GGMLType) {
            self.name = name
            self.dimensions = dimensions
            self.type = type
        }
    }

    public let path: String
    public let temporaryPath: String
    public let alignment: Int
    /// Bytes each planned tensor holds, in plan order.
    public let tensorBytes: [Int]
    /// Bytes accepted so far, header and padding included.
    public var bytesWritten: Int { flushedBytes + buffer.count }

    private let plans: [TensorPlan]
    private var fd: Int32
    private var buffer = Data()
    private let bufferLimit: Int
    private var current = 0
    private var writtenInCurrent = 0
    private var finished = false
    private var flushedBytes = 0
    /// Whether this writer created `temporaryPath` (and so must remove it if unfinished).
    private var ownsTemporary = false

    /// Creates the temporary file and writes the header.
    /// - Parameters:
    ///   - path: the destination, replaced only by a successful ``finish()``.
    ///   - metadata: key/value pairs in the order to write them (`general.alignment` is set here).
    ///   - tensors: the tensors, in the order their data will arrive.
    ///   - alignment: data alignment, a power of two (32 is ggml's default).
    ///   - bufferBytes: how much data to collect before each write to the file.
    /// - Throws: ``GGUFWriteError/invalidTensor(_:)`` for a tensor that cannot be stored as
    ///   planned, ``GGUFWriteError/cannotCreate(path:errno:)`` when the directory is not writable.
    public init(
        path: String, metadata: GGUFMetadata, tensors: [TensorPlan], alignment: Int = 32, bufferBytes: Int = 8 << 20
    ) throws(GGUFWriteError) {
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw .invalidTensor(.badAlignment(UInt64(max(alignment, 0))))
        }
        var sizes: [Int] = []
        var names = Set<String>()
        for plan in tensors {
            guard names.insert(plan.name).inserted else { throw .invalidTensor(.duplicateTensor(plan.name)) }
            guard (1...4).contains(plan.dimensions.count), plan.dimensions.allSatisfy({ $0 >= 0 }) else {
                throw .invalidTensor(.tooManyDimensions(tensor: plan.name, count: UInt32(plan.dimensions.count)))
            }
            let row = plan.dimensions[0]
            guard row % plan.type.blockElements == 0 else {
                throw .invalidTensor(
                    .rowNotBlockMultiple(tensor: plan.name, rowLength: row, blockElements: plan.type.blockElements))
            }
            var elements = 1
            for d in plan.dimensions {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw .invalidTensor(.elementCountOverflow(tensor: plan.name)) }
                elements = p
            }
            guard let bytes = plan.type.byteCount(elements: elements) else {
                throw .invalidTensor(.elementCountOverflow(tensor: plan.name))
            }
            sizes.append(bytes)
        }
        self.path = path
        self.alignment = alignment
        self.bufferLimit = max(1, bufferBytes)
        self.plans = tensors
        self.tensorBytes = sizes

        // A unique name in the destination's directory, so the final rename stays on one file system.
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let suffix = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        temporaryPath = directory + "/." + url.lastPathComponent + ".partial-" + suffix
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotCreate(path: path, errno: errno) }
        ownsTemporary = true

        var header = Data()
        header.append(le: GGUFFile.magic)
        header.append(le: UInt32(3))
        header.append(le: UInt64(tensors.count))
        var meta = metadata
        if alignment != 32 || meta["general.alignment"] != nil {
            meta.set("general.alignment", .uint32(UInt32(alignment)))
        }
        header.append(le: UInt64(meta.keys.count))
        for key in meta.keys {
            guard let value = meta[key] else { continue }
            header.appendString(key)
            header.append(le: value.type.rawValue)
            header.appendValue(value)
        }
        var offset = 0
        for (plan, size) in zip(tensors, sizes) {
            header.appendString(plan.name)
            header.append(le: UInt32(plan.dimensions.count))
            for d in plan.dimensions { header.append(le: UInt64(d)) }
            header.append(le: plan.type.rawValue)
            header.append(le: UInt64(offset))
            offset += Self.padded(size, alignment)
        }
        header.pad(to: alignment)
        buffer = header
        skipEmptyTensors()
    }

    deinit {
        if fd >= 0 { close(fd) }
        if ownsTemporary && !finished { unlink(temporaryPath) }
    }

    /// Appends tensor data; chunks may cross tensor boundaries (padding is inserted between tensors).
    /// - Throws: ``GGUFWriteError/tooMuchData(expected:)`` past the last planned byte,
    ///   ``GGUFWriteError/cannotWrite(path:errno:)`` when the disk refuses.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(GGUFWriteError) {
        guard !finished else { throw .alreadyFinished }
        var rest = bytes
        while !rest.isEmpty {
            guard current < plans.count else { throw .tooMuchData(expected: tensorBytes.reduce(0, +)) }
            let take = min(rest.count, tensorBytes[current] - writtenInCurrent)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<take]))
            writtenInCurrent += take
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if writtenInCurrent == tensorBytes[current] {
                // Pad by the position in the file, not in the buffer (flushes need not be aligned).
                let extra = (alignment - bytesWritten % alignment) % alignment
                if extra > 0 { buffer.append(contentsOf: repeatElement(0, count: extra)) }
                current += 1
                writtenInCurrent = 0
                skipEmptyTensors()
            }
            if buffer.count >= bufferLimit { try flush() }
        }
    }

    /// Flushes, syncs and renames the file into place.
    /// - Throws: ``GGUFWriteError/incomplete(tensor:written:expected:)`` if a planned tensor is
    ///   short, or the I/O errors.
    public func finish() throws(GGUFWriteError) {
        guard !finished else { throw .alreadyFinished }
        if current < plans.count {
            throw .incomplete(tensor: plans[current].name, written: writtenInCurrent, expected: tensorBytes[current])
        }
        try flush()
        guard fsync(fd) == 0 else { throw .cannotWrite(path: path, errno: errno) }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw .cannotWrite(path: path, errno: errno) }
        guard rename(temporaryPath, path) == 0 else { throw .cannotRename(from: temporaryPath, to: path, errno: errno) }
        finished = true
    }

    private func skipEmptyTensors() {
        while current < plans.count && tensorBytes[current] == 0 { current += 1 }
    }

    private func flush() throws(GGUFWriteError) {
        let failure = buffer.withUnsafeBytes { raw in writeFully(fd, raw) }
        if let failure { throw .cannotWrite(path: path, errno: failure) }
        flushedBytes += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    private static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

/// One writer is driven by one thread: it holds a file descriptor and a buffer without locks.
@available(*, unavailable) extension GGUFStreamWriter: Sendable {}

/// Writes all of `bytes` to `fd`, retrying short writes and interruptions; returns errno on failure.
private func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    guard let base = bytes.baseAddress else { return nil }
    var done = 0
    while done < bytes.count {
        let n = write(fd, base + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        done += n
    }
    return nil
}
