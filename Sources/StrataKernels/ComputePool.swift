#if canImport(Glibc)
    import Glibc
#endif
import CStrataKernels
import Synchronization

/// A fixed set of compute threads that split each kernel call's work among themselves.
///
/// Waking a sleeping thread costs far more on virtual machines than a whole small kernel, so
/// workers spin for a while after each job before they sleep; a decode step issues hundreds of
/// jobs back to back and never pays for a wake-up. The calling thread takes part in every job,
/// so a pool of `threadCount` threads starts `threadCount - 1` workers.
///
/// SAFETY (`@unchecked Sendable`): one atomic word packs (generation, task count, next task).
/// The job pointer is written only inside `run`, before the sequentially consistent store that
/// publishes a new generation, and a worker dereferences it only after a compare-exchange that
/// claimed a task of that same generation; `run` returns (and frees the job) only after every
/// claimed task has finished, so the closure never outlives the frame that owns it. `run` is
/// serialised by `runLock`.
public final class ComputePool: @unchecked Sendable {
    public let threadCount: Int
    /// Most tasks one `run` may have (the packed word keeps 16 bits for each count).
    public static let maxTasks = 0xFFFF

    private typealias Job = (Int, Int) -> Void
    private nonisolated(unsafe) var job: UnsafeMutablePointer<Job>?
    /// Where `run` keeps its closure while workers call it (one run at a time: no allocation per run).
    private let jobSlot = UnsafeMutablePointer<Job>.allocate(capacity: 1)
    /// generation (bits 32...63) | task count (16...31) | next task index (0...15)
    private let state = Atomic<UInt64>(0)
    private let finishedTasks = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let runLock = Mutex<Void>(())
    private var threads: [pthread_t] = []
    private let sleepMutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wakeCondition: UnsafeMutablePointer<pthread_cond_t>
    /// Spins before a worker sleeps; roughly a few milliseconds.
    private let spinLimit: Int

    /// - Parameters:
    ///   - threadCount: threads working on each job, the caller included (≥ 1).
    ///   - placement: where to pin the worker threads (the caller pins itself separately).
    public init(threadCount: Int, placement: Placement = .unpinned, spinLimit: Int = 200_000) {
        self.threadCount = max(1, threadCount)
        self.spinLimit = spinLimit
        sleepMutex = .allocate(capacity: 1)
        wakeCondition = .allocate(capacity: 1)
        pthread_mutex_init(sleepMutex, nil)
        pthread_cond_init(wakeCondition, nil)
        for index in 1..<self.threadCount {
            let context = WorkerContext(pool: self, index: index, placement: placement)
            let unmanaged = Unmanaged.passRetained(context)
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { raw in
                    guard let raw else { return nil }
                    let context = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
                    context.placement.pinCurrentThread()
                    context.pool.workerLoop(index: context.index)
                    return nil
                }, unmanaged.toOpaque())
            if rc == 0 { threads.append(thread) } else { unmanaged.release() }
        }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let old = state.load(ordering: .relaxed)
        state.store(Self.pack(generation: Self.generation(old) &+ 1, tasks: 0, next: 0), ordering: .sequentiallyConsistent)
        pthread_mutex_lock(sleepMutex)
        pthread_cond_broadcast(wakeCondition)
        pthread_mutex_unlock(sleepMutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wakeCondition)
        pthread_mutex_destroy(sleepMutex)
        sleepMutex.deallocate()
        wakeCondition.deallocate()
        jobSlot.deallocate()
    }

    /// Runs `body(task, thread)` for every task in `0..<tasks`, spread over the pool; returns
    /// when all are done. `thread` is in `0..<threadCount` and identifies per-thread scratch.
    public func run(tasks: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        precondition(tasks <= Self.maxTasks, "too many tasks for one run")
        guard tasks > 0 else { return }
        if threads.isEmpty || tasks == 1 {
            for t in 0..<tasks { body(t, 0) }
            return
        }
        runLock.withLock { _ in
            withoutActuallyEscaping(body) { escaping in
                let slot = jobSlot
                slot.initialize(to: escaping)
                defer { slot.deinitialize(count: 1) }
                job = slot
                finishedTasks.store(0, ordering: .relaxed)
                let generation = Self.generation(state.load(ordering: .relaxed)) &+ 1
                state.store(Self.pack(generation: generation, tasks: tasks, next: 0), ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    pthread_mutex_lock(sleepMutex)
                    pthread_cond_broadcast(wakeCondition)
                    pthread_mutex_unlock(sleepMutex)
                }
                drain(generation: generation, thread: 0)
                var spins = 0
                while finishedTasks.load(ordering: .acquiring) < tasks {
                    spins += 1
                    // A worker holding a task may have been preempted (more threads than free
                    // cores): after a short spin, give the core away instead of burning it.
                    if spins < 2000 { spinPause() } else { sched_yield() }
                }
                job = nil
            }
        }
    }

    /// Splits `0..<count` into about `threadCount * grain` contiguous chunks and runs them.
    public func parallelFor(_ count: Int, grain: Int = 4, _ body: (_ range: Range<Int>, _ thread: Int) -> Void) {
        let chunks = min(count, threadCount == 1 ? 1 : threadCount * grain, Self.maxTasks)
        guard chunks > 0 else { return }
        run(tasks: chunks) { task, thread in
            let start = count * task / chunks
            let end = count * (task + 1) / chunks
            body(start..<end, thread)
        }
    }

    // MARK: - Internals

    private static func pack(generation: UInt32, tasks: Int, next: Int) -> UInt64 {
        UInt64(generation) << 32 | UInt64(tasks) << 16 | UInt64(next)
    }
    private static func generation(_ word: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: word >> 32) }

    /// Claims and runs tasks of `generation` until none are left.
    private func drain(generation: UInt32, thread: Int) {
        while true {
            var word = state.load(ordering: .acquiring)
            var claimed = -1
            while Self.generation(word) == generation {
                let tasks = Int((word >> 16) & 0xFFFF)
                let next = Int(word & 0xFFFF)
                if next >= tasks { break }
                let (exchanged, original) = state.compareExchange(
                    expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
                if exchanged {
                    claimed = next
                    break
                }
                word = original
            }
            guard claimed >= 0, let slot = job else { return }
            slot.pointee(claimed, thread)
            finishedTasks.add(1, ordering: .releasing)
        }
    }

    private func workerLoop(index: Int) {
        var seen = Self.generation(state.load(ordering: .acquiring))
        while true {
            var spins = 0
            var current = Self.generation(state.load(ordering: .acquiring))
            while current == seen {
                spins += 1
                if spins < spinLimit {
                    if spins & 255 == 0 { sched_yield() } else { spinPause() }
                } else {
                    pthread_mutex_lock(sleepMutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while Self.generation(state.load(ordering: .sequentiallyConsistent)) == seen {
                        pthread_cond_wait(wakeCondition, sleepMutex)
                    }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(sleepMutex)
                    spins = 0
                }
                current = Self.generation(state.load(ordering: .acquiring))
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            drain(generation: current, thread: index)
        }
    }
}

private final class WorkerContext {
    let pool: ComputePool
    let index: Int
    let placement: Placement
    init(pool: ComputePool, index: Int, placement: Placement) {
        self.pool = pool
        self.index = index
        self.placement = placement
    }
}

@inline(__always) func spinPause() {
    st_cpu_relax()
}
