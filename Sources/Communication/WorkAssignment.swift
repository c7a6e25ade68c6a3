/// Spreads independent pieces of work (a layer's factor inversions or device runs) over ranks so that the
/// busiest rank has as little as possible, the way kfac-pytorch's KAISA assignment does
/// (docs/multi-process.md#k-fac-on-several-ranks).
public enum WorkAssignment {
    /// Longest-processing-time first: items in decreasing cost (ties by name) each go to the rank with the
    /// least work so far (ties: the lowest rank). The busiest rank's load is at most `4/3 − 1/(3p)` times
    /// the optimum (Graham 1969). Deterministic, so every rank computes the same assignment.
    /// Returns item name → rank in `0..<ranks`.
    public static func balanced(_ costs: [(name: String, cost: Double)], ranks: Int) -> [String: Int] {
        precondition(ranks >= 1, "WorkAssignment: \(ranks) ranks")
        var load = [Double](repeating: 0, count: ranks)
        var owner: [String: Int] = [:]
        for item in costs.sorted(by: { $0.cost != $1.cost ? $0.cost > $1.cost : $0.name < $1.name }) {
            var best = 0
            for r in 1..<ranks where load[r] < load[best] { best = r }
            owner[item.name] = best
            load[best] += item.cost
        }
        return owner
    }

    /// Per-rank total cost of `assignment`.
    public static func loads(_ costs: [(name: String, cost: Double)], _ assignment: [String: Int], ranks: Int) -> [Double] {
        var load = [Double](repeating: 0, count: ranks)
        for item in costs { if let r = assignment[item.name] { load[r] += item.cost } }
        return load
    }
}
