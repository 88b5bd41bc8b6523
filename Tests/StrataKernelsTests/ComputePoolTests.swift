import StrataKernels
import Synchronization
import Testing

@Suite struct ComputePoolTests {
    @Test(arguments: [1, 2, 3, 4])
    func runsEveryTaskExactlyOnce(threads: Int) {
        let pool = ComputePool(threadCount: threads)
        for tasks in [1, 2, 3, 7, 64, 1000] {
            let counts = Mutex([Int](repeating: 0, count: tasks))
            let threadsSeen = Mutex(Set<Int>())
            pool.run(tasks: tasks) { t, thread in
                counts.withLock { $0[t] += 1 }
                threadsSeen.withLock { _ = $0.insert(thread) }
            }
            #expect(counts.withLock { $0.allSatisfy { $0 == 1 } }, "tasks \(tasks)")
            #expect(threadsSeen.withLock { $0.allSatisfy { (0..<threads).contains($0) } })
        }
    }

    @Test func survivesManyBackToBackJobs() {
        let pool = ComputePool(threadCount: 3)
        let total = Atomic<Int>(0)
        for _ in 0..<5000 {
            pool.run(tasks: 3) { _, _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 15000)
    }

    @Test func wakesWorkersAfterTheySleep() throws {
        // A tiny spin limit makes workers sleep between jobs; jobs must still complete.
        let pool = ComputePool(threadCount: 2, spinLimit: 10)
        let total = Atomic<Int>(0)
        for _ in 0..<200 {
            pool.run(tasks: 4) { _, _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 800)
    }

    @Test func parallelForCoversTheRangeWithoutOverlap() {
        let pool = ComputePool(threadCount: 2)
        for count in [0, 1, 5, 17, 1000] {
            let hits = Mutex([Int](repeating: 0, count: count))
            pool.parallelFor(count) { range, _ in
                hits.withLock { for i in range { $0[i] += 1 } }
            }
            #expect(hits.withLock { $0.allSatisfy { $0 == 1 } })
        }
    }
}

@Suite struct MemoryBandwidthTests {
    @Test(arguments: [1, 2])
    func measuresPlausibleRatesWithThePoolsThreads(threads: Int) {
        let bandwidth = MemoryBandwidth.measure(pool: ComputePool(threadCount: threads), bytes: 8 << 20, passes: 2)
        #expect(bandwidth.threads == threads)
        #expect(bandwidth.bufferBytes <= 8 << 20 && bandwidth.bufferBytes >= 4 << 20)
        // Any machine that runs this reads faster than 100 MB/s and slower than 10 TB/s.
        #expect(bandwidth.readBytesPerSecond > 1e8 && bandwidth.readBytesPerSecond < 1e13)
        #expect(bandwidth.copyBytesPerSecond > 1e8 && bandwidth.copyBytesPerSecond < 1e13)
    }
}
