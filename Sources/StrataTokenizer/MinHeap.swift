/// A binary min-heap of packed `UInt64` keys (priority in the high bits, position in the low
/// bits, so that ties pop leftmost first).
struct MinHeap {
    private var items: [UInt64]

    /// Starts empty, reusing `storage`'s capacity.
    init(reusing storage: [UInt64]) {
        items = storage
        items.removeAll(keepingCapacity: true)
    }

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ key: UInt64) {
        items.append(key)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= key { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = key
    }

    mutating func pop() -> UInt64? {
        guard let last = items.popLast() else { return nil }
        guard let top = items.first else { return last }
        // Sift the former last item down from the root.
        let count = items.count
        var parent = 0
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count, items[child + 1] < items[child] { child += 1 }
            if last <= items[child] { break }
            items[parent] = items[child]
            parent = child
        }
        items[parent] = last
        return top
    }

    /// Hands back the storage so that its capacity can be reused.
    mutating func takeStorage() -> [UInt64] {
        var storage: [UInt64] = []
        swap(&storage, &items)
        return storage
    }
}
