import Dispatch

/// A value handed to the tasks of `Parallel.chunks`.
///
/// SAFETY (`@unchecked Sendable`): used only for pointers into buffers whose tasks touch disjoint
/// ranges, and only for the duration of one `Parallel.chunks` call, which returns after every
/// task has finished.
@usableFromInline
struct Shared<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}

/// Row-parallel loops over `TrainingThreads.count` threads.
@usableFromInline
enum Parallel {
    /// Splits 0..<count into one contiguous chunk per thread (fewer when the work is small) and
    /// runs `body` on each; returns when all are done. Runs inline for a single chunk.
    /// - Parameter minimumChunk: the least work worth a thread.
    @usableFromInline
    static func chunks(_ count: Int, minimumChunk: Int, _ body: @Sendable (Int, Range<Int>) -> Void) {
        let tasks = max(1, min(TrainingThreads.count, count / max(minimumChunk, 1)))
        guard tasks > 1 else {
            body(0, 0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: tasks) { t in
            body(t, (count * t / tasks)..<(count * (t + 1) / tasks))
        }
    }
}
