/// A growable, 64-byte-aligned scratch buffer reused across calls; it grows only when a call
/// needs more than any call before, so steady-state kernels never allocate.
///
/// Not thread-safe by itself: each thread of a `ComputePool` owns its own.
final class ScratchBuffer {
    private(set) var pointer: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(bytes: Int = 0) {
        capacity = max(bytes, 64)
        pointer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { pointer.deallocate() }

    /// A pointer to at least `bytes` bytes; contents are not preserved across growth.
    func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity {
            pointer.deallocate()
            capacity = max(bytes, capacity * 2)
            pointer = .allocate(byteCount: capacity, alignment: 64)
        }
        return pointer
    }

    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        reserve(count * MemoryLayout<Float>.stride).assumingMemoryBound(to: Float.self)
    }
}
