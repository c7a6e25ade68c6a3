import Communication
import Linalg
import Testing

/// The one-rank communicator is the identity, and the typed helpers keep shapes, names and failures.
@Suite struct SingleProcessCommunicatorTests {
    @Test func collectivesLeaveOneRanksDataAsItIs() throws {
        let c = SingleProcessCommunicator()
        #expect(c.rank == 0 && c.size == 1 && c.isRoot)
        var v: [Float] = [1, -2, 3.5]
        try c.allReduce(&v)
        #expect(v == [1, -2, 3.5])
        try c.allReduce(&v, .max)
        #expect(v == [1, -2, 3.5])
        var m = Matrix<Double>(rows: 2, columns: 2, storage: [1, 2, 3, 4])
        try c.broadcast(&m, root: 0)
        #expect(m.storage == [1, 2, 3, 4])
        #expect(try c.gather([Int64(7), 8], root: 0) == [7, 8])
        #expect(try c.allReduce(2.5) == 2.5)
        try c.barrier()
    }

    @Test func aRootOutsideTheJobIsRefusedByName() {
        let c = SingleProcessCommunicator()
        var v: [Double] = [1]
        #expect(throws: CommunicationError.invalidRoot(root: 1, size: 1)) { try c.broadcast(&v, root: 1) }
        #expect(CommunicationError.invalidRoot(root: 1, size: 1).description.contains("0..<1"))
    }

    @Test func namedTensorsComeBackAndARootFailureIsReported() throws {
        let c = SingleProcessCommunicator()
        let t = ["layers.0.a": Matrix<Float>(rows: 1, columns: 2, storage: [1, 2])]
        #expect(try c.broadcastTensors(.success(t), root: 0) == t)
        #expect(throws: CommunicationError.remoteFailure(rank: 0, reason: "singular")) {
            let _: [String: Matrix<Float>] = try c.broadcastTensors(.failure(TensorBroadcastFailure("singular")), root: 0)
        }
    }

    @Test func trafficCountsBytesCallsAndDifferences() {
        var t = CommunicationTraffic()
        t.record(bytes: 400, seconds: 0.5)
        let snapshot = t
        t.record(bytes: 8, seconds: 0.25)
        let d = t.since(snapshot)
        #expect(d.bytes == 8 && d.calls == 1 && d.seconds == 0.25)
        #expect(CommunicatedScalar.float32.byteCount == 4 && CommunicatedScalar.int64.byteCount == 8)
    }
}

/// Longest-processing-time assignment: deterministic, every item owned once, and within Graham's bound.
@Suite struct WorkAssignmentTests {
    @Test func equalItemsAlternateAndCostlyItemsSpread() {
        let costs: [(name: String, cost: Double)] = [("a", 1), ("b", 1), ("c", 1), ("d", 1)]
        let a = WorkAssignment.balanced(costs, ranks: 2)
        #expect(WorkAssignment.loads(costs, a, ranks: 2) == [2, 2])
        // One layer far costlier than the rest (784-wide A against 10-wide ones): alone on its rank.
        let mlp: [(name: String, cost: Double)] = [("layers.0", 785 * 785 * 785 + 128 * 128 * 128),
                                                   ("layers.2", 129 * 129 * 129 + 10 * 10 * 10), ("layers.4", 11 * 11 * 11 + 1000)]
        let m = WorkAssignment.balanced(mlp, ranks: 2)
        #expect(m["layers.0"] == 0 && m["layers.2"] == 1 && m["layers.4"] == 1)
        #expect(WorkAssignment.balanced(mlp, ranks: 1).values.allSatisfy { $0 == 0 })
    }

    @Test func busiestRankStaysWithinGrahamsBound() {
        // Seeded pseudo-random costs; the optimum is at least max(total / p, largest item).
        var state: UInt64 = 12345
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 40) / Double(1 << 24) }
        for p in 2...5 {
            var costs: [(name: String, cost: Double)] = []
            for i in 0..<17 {
                let x: Double = 1 + 9 * next()
                costs.append((name: "l\(i)", cost: x * x * x))
            }
            let loads = WorkAssignment.loads(costs, WorkAssignment.balanced(costs, ranks: p), ranks: p)
            let total: Double = costs.map(\.cost).reduce(0, +)
            let largest: Double = costs.map(\.cost).max()!
            let lower = max(total / Double(p), largest)
            let bound: Double = 4.0 / 3.0 - 1.0 / (3.0 * Double(p))
            #expect(loads.max()! <= bound * lower * (1 + 1e-12))
            let assigned: Double = loads.reduce(0, +)
            #expect(abs(assigned - total) < 1e-9 * total)
        }
    }
}
