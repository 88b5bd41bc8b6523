#if canImport(Glibc)
    import Glibc
#endif
import CStrataNUMA

/// Memory allocated on one NUMA node (libnuma), for weights a pinned worker reads every token.
///
/// SAFETY (`@unchecked Sendable`): filled once at creation and read-only afterwards.
public final class NodeLocalBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let count: Int
    private let fromNUMA: Bool

    /// Copies `bytes` into memory on `node` (or ordinary memory when NUMA is unavailable).
    public init(copying bytes: UnsafeRawBufferPointer, node: Int) {
        count = max(bytes.count, 1)
        if NUMATopology.current.isAvailable, let p = numa_alloc_onnode(count, Int32(node)) {
            pointer = p
            fromNUMA = true
        } else {
            pointer = .allocate(byteCount: count, alignment: 64)
            fromNUMA = false
        }
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
    }

    deinit {
        if fromNUMA { numa_free(pointer, count) } else { pointer.deallocate() }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
}

extension WeightMatrix {
    /// This matrix copied into memory on NUMA node `node`.
    public func placed(onNode node: Int) -> WeightMatrix {
        let buffer = NodeLocalBuffer(copying: UnsafeRawBufferPointer(start: base, count: byteCount), node: node)
        // The copy has the same type and shape, so this cannot fail.
        return (try? WeightMatrix(
            type: type, rows: rows, columns: columns,
            bytes: UnsafeRawBufferPointer(start: buffer.pointer, count: byteCount), owner: buffer)) ?? self
    }
}
