import Linalg
import Testing

/// The seeded generator: reproducibility, and the normal sampler's distribution. Statistical checks
/// use 5σ bounds from the sampling distribution of each statistic, with fixed seeds.
@Suite("Random numbers")
struct RandomTests {
    @Test func sameSeedSameStream() throws {
        var a = Xoshiro256StarStar(seed: 42)
        var b = Xoshiro256StarStar(seed: 42)
        var c = Xoshiro256StarStar(seed: 42, stream: 1)
        let sa = (0..<100).map { _ in a.next() }
        #expect(sa == (0..<100).map { _ in b.next() })
        #expect(sa != (0..<100).map { _ in c.next() })
        // Resuming from saved state continues the same stream.
        var d = try Xoshiro256StarStar(state: a.state)
        #expect((0..<10).map { _ in a.nextNormal() } == (0..<10).map { _ in d.nextNormal() })
        #expect(throws: RandomStateError.self) { try Xoshiro256StarStar(state: [0, 0, 0, 0]) }
        #expect(throws: RandomStateError.self) { try Xoshiro256StarStar(state: [1, 2]) }
    }

    @Test func streamIsStableAcrossRuns() {
        // Golden values (the 64-bit outputs checked against an independent Python transcription of
        // SplitMix64 seeding + xoshiro256**). A change here breaks reproducibility of every seeded run.
        var r = Xoshiro256StarStar(seed: 0)
        #expect((0..<3).map { _ in r.next() } == [11091344671253066420, 13793997310169335082, 1900383378846508768])
        var s = Xoshiro256StarStar(seed: 0)
        #expect((0..<3).map { _ in s.nextNormal() } == [0.7113357012458009, -1.689698078328486, 0.0849412390010176])
    }

    @Test func normalMomentsWithinFiveSigma() {
        var rng = Xoshiro256StarStar(seed: 7)
        let n = 1_000_000
        var x = [Double](repeating: 0, count: n)
        rng.fillNormal(&x)
        let mean = x.reduce(0, +) / Double(n)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        // sd(mean) = 1/sqrt(n); sd(sample variance) = sqrt(2/(n-1)) for a normal.
        #expect(abs(mean) < 5 / Double(n).squareRoot())
        #expect(abs(variance - 1) < 5 * (2 / Double(n - 1)).squareRoot())
        // Tails and shape: P(|z| > t) for t = 1, 2, 3 and beyond the ziggurat's tail start r ≈ 3.654.
        let expected: [(Double, Double)] = [(1, 0.31731050786291), (2, 0.04550026389636), (3, 0.00269979606326),
                                           (3.6541528853610088, 0.00025806)]
        for (t, p) in expected {
            let observed = Double(x.reduce(0) { $0 + (abs($1) > t ? 1 : 0) }) / Double(n)
            #expect(abs(observed - p) < 5 * (p * (1 - p) / Double(n)).squareRoot(), "P(|z| > \(t))")
        }
        // Symmetry and the fourth moment (3 for a normal; sd of the sample mean of z⁴ is sqrt(96/n)).
        let fourth = x.reduce(0) { $0 + $1 * $1 * $1 * $1 } / Double(n)
        #expect(abs(fourth - 3) < 5 * (96 / Double(n)).squareRoot())
        let positive = Double(x.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }) / Double(n)
        #expect(abs(positive - 0.5) < 5 * 0.5 / Double(n).squareRoot())
    }

    @Test func floatFillWithMeanAndStd() {
        var rng = Xoshiro256StarStar(seed: 8)
        var x = [Float](repeating: 0, count: 200_000)
        rng.fillNormal(&x, mean: 3, std: 0.5)
        let n = Double(x.count)
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
        #expect(abs(mean - 3) < 5 * 0.5 / n.squareRoot())
        #expect(abs(variance - 0.25) < 5 * 0.25 * (2 / (n - 1)).squareRoot())
    }

    @Test func uniformIntegersAndShuffles() {
        var rng = Xoshiro256StarStar(seed: 9)
        let n = 600_000, k = 6
        var counts = [Int](repeating: 0, count: k)
        for _ in 0..<n { counts[rng.nextInt(below: k)] += 1 }
        let p = 1.0 / Double(k)
        for c in counts { #expect(abs(Double(c) / Double(n) - p) < 5 * (p * (1 - p) / Double(n)).squareRoot()) }
        var u = 0.0
        for _ in 0..<n { let v = rng.nextUniform(); #expect(v >= 0 && v < 1); u += v }
        #expect(abs(u / Double(n) - 0.5) < 5 * (1.0 / 12 / Double(n)).squareRoot())
        for _ in 0..<100 { #expect((-3...3).contains(rng.nextInt(in: -3...3))) }
        let perm = rng.permutation(1000)
        #expect(perm.sorted() == Array(0..<1000))
        #expect(perm != Array(0..<1000))
        var r1 = Xoshiro256StarStar(seed: 5), r2 = Xoshiro256StarStar(seed: 5)
        #expect(r1.permutation(50) == r2.permutation(50))
    }
}
