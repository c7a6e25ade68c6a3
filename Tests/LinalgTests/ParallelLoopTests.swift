import Linalg
import Testing

@Suite struct ParallelLoopTests {
    /// Every index is visited exactly once, in contiguous ranges, for any thread count, including more
    /// threads than indices and loops below the parallel threshold.
    @Test(arguments: [1, 2, 3, 8])
    func everyIndexOnce(threads: Int) {
        for count in [0, 1, 5, 100_003] {
            var visits = [Int](repeating: 0, count: count)
            visits.withUnsafeMutableBufferPointer { v in
                let p = v.baseAddress
                ParallelLoop.forEachChunk(count, threads: threads) { range in
                    for i in range { p![i] += 1 }
                }
            }
            #expect(visits.allSatisfy { $0 == 1 }, "count \(count), threads \(threads)")
        }
    }

    /// Large loops are split into `threads` parts; small ones are not split.
    @Test func splitsOnlyWorthwhileLoops() {
        func parts(_ count: Int) -> Int {
            // Each chunk marks its first index (disjoint writes); the marks count the chunks.
            var starts = [Int](repeating: 0, count: count)
            starts.withUnsafeMutableBufferPointer { s in
                let p = s.baseAddress!
                ParallelLoop.forEachChunk(count, threads: 4) { range in p[range.lowerBound] = 1 }
            }
            return starts.reduce(0, +)
        }
        #expect(parts(1_000_000) == 4)
        #expect(parts(100) == 1)
    }
}
