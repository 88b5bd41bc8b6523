#if canImport(Glibc)
    import Glibc
#endif
import CStrataNUMA

/// Where compute threads run and where their memory comes from.
public enum Placement: Sendable, Equatable, CustomStringConvertible {
    /// The scheduler decides; memory comes from wherever the kernel places it.
    case unpinned
    /// Threads bound to the CPUs of one NUMA node, allocations preferred on that node.
    case numaNode(Int)

    /// Checks that the requested node exists. On a machine without NUMA support, node 0 is the
    /// whole machine, so `.numaNode(0)` is accepted there and means "unpinned".
    public static func resolve(node: Int?) throws(PlacementError) -> Placement {
        guard let node else { return .unpinned }
        let nodes = NUMATopology.current.nodeCount
        guard node >= 0, node < nodes else { throw .noSuchNode(node, available: nodes) }
        return .numaNode(node)
    }

    /// Binds the calling thread to this placement's CPUs and memory node (no-op when unpinned
    /// or when the machine has no NUMA support).
    public func pinCurrentThread() {
        guard case .numaNode(let node) = self, NUMATopology.current.isAvailable else { return }
        _ = numa_run_on_node(Int32(node))
        numa_set_preferred(Int32(node))
    }

    public var description: String {
        switch self {
        case .unpinned: "unpinned"
        case .numaNode(let n): "NUMA node \(n)"
        }
    }
}

public enum PlacementError: Error, Equatable, Sendable, CustomStringConvertible {
    case noSuchNode(Int, available: Int)

    public var description: String {
        switch self {
        case .noSuchNode(let n, let available): "NUMA node \(n) does not exist (this machine has \(available): 0…\(available - 1))"
        }
    }
}

/// What libnuma reports about this machine.
public struct NUMATopology: Sendable {
    public let isAvailable: Bool
    public let nodeCount: Int
    /// CPUs of each node.
    public let cpusByNode: [[Int]]

    public static let current = NUMATopology()

    init() {
        guard numa_available() >= 0 else {
            isAvailable = false
            nodeCount = 1
            cpusByNode = [Array(0..<Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))]
            return
        }
        isAvailable = true
        let nodes = Int(numa_max_node()) + 1
        nodeCount = nodes
        var byNode: [[Int]] = []
        let cpuCount = Int(numa_num_configured_cpus())
        for node in 0..<nodes {
            var cpus: [Int] = []
            if let mask = numa_allocate_cpumask() {
                if numa_node_to_cpus(Int32(node), mask) == 0 {
                    for cpu in 0..<cpuCount where numa_bitmask_isbitset(mask, UInt32(cpu)) != 0 {
                        cpus.append(cpu)
                    }
                }
                numa_free_cpumask(mask)
            }
            byNode.append(cpus)
        }
        cpusByNode = byNode
    }

    /// A one-line summary for logs, e.g. "1 NUMA node (CPUs 0-1); binding has no effect".
    public var summary: String {
        guard isAvailable else { return "NUMA not available; threads run unpinned" }
        let nodes = cpusByNode.enumerated().map { "node \($0.offset): CPUs \($0.element.map(String.init).joined(separator: ","))" }
        return "\(nodeCount) NUMA node\(nodeCount == 1 ? "" : "s") (\(nodes.joined(separator: "; ")))"
            + (nodeCount == 1 ? "; a one-node machine, so pinning changes nothing" : "")
    }
}
