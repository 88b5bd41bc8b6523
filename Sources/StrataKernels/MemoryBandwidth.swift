import CStrataKernels
import Foundation

/// The memory bandwidth a compute pool can draw: a buffer far larger than the caches, read (and
/// copied) by every thread of the pool at once, each thread its own contiguous slice. The best of
/// several passes is kept, since a shared machine only ever makes a pass slower.
///
/// Decode reads every weight once per token, so `readBytesPerSecond` is the ceiling a decode
/// step's weight stream is compared with. `copyBytesPerSecond` counts bytes read plus bytes
/// written, as STREAM's copy does.
public struct MemoryBandwidth: Codable, Sendable, Equatable {
    public var readBytesPerSecond: Double
    public var copyBytesPerSecond: Double
    public var threads: Int
    public var bufferBytes: Int

    public init(readBytesPerSecond: Double, copyBytesPerSecond: Double, threads: Int, bufferBytes: Int) {
        self.readBytesPerSecond = readBytesPerSecond
        self.copyBytesPerSecond = copyBytesPerSecond
        self.threads = threads
        self.bufferBytes = bufferBytes
    }

    /// Measures with `pool`'s threads over a `bytes`-byte buffer (rounded down to whole pages per
    /// thread), `passes` times each.
    public static func measure(pool: ComputePool, bytes: Int = 256 << 20, passes: Int = 5) -> MemoryBandwidth {
        let threads = pool.threadCount
        let words = max(bytes / 8 / (2 * threads) / 512 * 512, 512)  // per thread and half: whole 4 KiB pages
        let total = words * 2 * threads
        let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: total)
        let sinks = UnsafeMutablePointer<UInt64>.allocate(capacity: threads)
        defer {
            buffer.deallocate()
            sinks.deallocate()
        }
        sinks.initialize(repeating: 0, count: threads)
        /// Thread `task`'s words: the first half is read, and copied into the second.
        func slice(_ task: Int) -> UnsafeMutablePointer<UInt64> { buffer + task * 2 * words }
        // First touch by the thread that will read the slice (its node's memory on a NUMA machine);
        // a non-zero pattern so no page is the shared zero page.
        pool.run(tasks: threads) { task, _ in
            let mine = slice(task)
            for i in 0..<(2 * words) { mine[i] = UInt64(truncatingIfNeeded: task &* 2 &* words &+ i) &* 0x9E37_79B9_7F4A_7C15 | 1 }
        }
        func best(_ body: () -> Void, bytesMoved: Int) -> Double {
            var fastest = Double.infinity
            for _ in 0..<max(1, passes) {
                let start = ContinuousClock.now
                body()
                fastest = min(fastest, (ContinuousClock.now - start) / .seconds(1))
            }
            return fastest > 0 ? Double(bytesMoved) / fastest : 0
        }
        let read = best({
            pool.run(tasks: threads) { task, _ in
                sinks[task] ^= st_stream_read(slice(task), Int64(2 * words))
            }
        }, bytesMoved: total * 8)
        let copy = best({
            pool.run(tasks: threads) { task, _ in st_stream_copy(slice(task) + words, slice(task), Int64(words * 8)) }
        }, bytesMoved: 2 * threads * words * 8)
        // Keep the reads observable.
        var sink: UInt64 = 0
        for t in 0..<threads { sink ^= sinks[t] }
        withExtendedLifetime(sink) {}
        return MemoryBandwidth(readBytesPerSecond: read, copyBytesPerSecond: copy, threads: threads, bufferBytes: total * 8)
    }

    /// One line for people, e.g. "memory bandwidth with 2 threads: read 46.2 GB/s, copy 44.8 GB/s".
    public var summary: String {
        "memory bandwidth with \(threads) threads: read " + String(format: "%.1f", readBytesPerSecond / 1e9) + " GB/s, copy "
            + String(format: "%.1f", copyBytesPerSecond / 1e9) + " GB/s"
    }
}
