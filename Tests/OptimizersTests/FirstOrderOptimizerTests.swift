import Foundation
import Linalg
import NeuralNet
import Optimizers
import Testing

/// A one-parameter "model" whose gradient the test sets by hand.
func parameter(_ values: [Double], gradient: [Double], name: String = "p") -> Parameter<Double> {
    let p = Parameter(name: name, value: Matrix(rows: 1, columns: values.count, storage: values))
    p.gradient = Matrix(rows: 1, columns: gradient.count, storage: gradient)
    return p
}

@Suite struct FirstOrderOptimizerTests {
    /// Reference values worked out by hand from PyTorch's update rules (torch.optim.SGD/Adam/AdamW).
    @Test func sgdMomentumAndNesterovFollowTheRecurrence() throws {
        let schedule = try LearningRateSchedule.constant(0.1)
        // Constant gradient g = 2: momentum 0.9 → v₁ = 2, v₂ = 3.8; θ = 1 − 0.1·2 − 0.1·3.8 = 0.42.
        let p = parameter([1], gradient: [2])
        let sgd = try SGD<Double>(schedule: schedule, momentum: 0.9)
        _ = sgd.update([p]); _ = sgd.update([p])
        #expect(abs(p.value[0, 0] - 0.42) < 1e-15)
        // Nesterov: u₁ = 2 + 0.9·2 = 3.8, u₂ = 2 + 0.9·3.8 = 5.42 → θ = 1 − 0.38 − 0.542 = 0.078.
        let q = parameter([1], gradient: [2])
        let nesterov = try SGD<Double>(schedule: schedule, momentum: 0.9, nesterov: true)
        _ = nesterov.update([q]); _ = nesterov.update([q])
        #expect(abs(q.value[0, 0] - 0.078) < 1e-15)
        // Plain SGD with weight decay 0.5: θ ← θ − 0.1 (g + 0.5 θ) = 1 − 0.1·2.5 = 0.75.
        let r = parameter([1], gradient: [2])
        _ = try SGD<Double>(schedule: schedule, weightDecay: 0.5).update([r])
        #expect(abs(r.value[0, 0] - 0.75) < 1e-15)
    }

    /// Adam's first step moves every coordinate by η·g/(|g| + ε/…) ≈ η·sign(g), whatever |g| is.
    @Test func adamFirstStepIsSignStep() throws {
        let p = parameter([0, 0, 0], gradient: [1e-3, -5, 100])
        let adam = try Adam<Double>(schedule: .constant(0.01))
        #expect(adam.update([p]) == .applied)
        for (v, s) in zip(p.value.storage, [-1.0, 1, -1]) { #expect(abs(v - 0.01 * s) < 1e-7) }
        // Second step with g = (1, 1, 1): m = (0.1·1e-3·0.9 + 0.1, …) etc. — check one coordinate exactly.
        p.gradient = Matrix(rows: 1, columns: 3, storage: [1, 1, 1])
        _ = adam.update([p])
        let m = 0.9 * 0.1 * 100 + 0.1 * 1, v = 0.999 * 0.001 * 10_000 + 0.001 * 1
        let expected = -0.01 - 0.01 / (1 - 0.81) * m / ((v / (1 - 0.999 * 0.999)).squareRoot() + 1e-8)
        #expect(abs(p.value[0, 2] - expected) < 1e-9) // the first step is −0.01 only up to ε
    }

    @Test func adamWDecaysDecoupled() throws {
        // Zero gradient: Adam's update is 0, AdamW still shrinks θ by (1 − ηλ).
        let p = parameter([2], gradient: [0])
        _ = try Adam<Double>.adamW(schedule: .constant(0.1), weightDecay: 0.5).update([p])
        #expect(abs(p.value[0, 0] - 2 * (1 - 0.05)) < 1e-15)
        // Coupled L2 (Adam with weight decay): g' = λθ = 1 → first step is a sign step of size η.
        let q = parameter([2], gradient: [0])
        _ = try Adam<Double>(schedule: .constant(0.1), weightDecay: 0.5).update([q])
        #expect(abs(q.value[0, 0] - 1.9) < 1e-7)
    }

    @Test func nonFiniteGradientsSkipTheStep() throws {
        let good = parameter([1, 2], gradient: [1, 1], name: "good")
        let bad = parameter([3], gradient: [.nan], name: "bad")
        let adam = try Adam<Double>(schedule: .constant(0.1))
        #expect(adam.update([good, bad]) == .skippedNonFinite(parameter: "bad"))
        #expect(good.value.storage == [1, 2] && bad.value.storage == [3])
        #expect(adam.step == 0 && adam.skippedSteps == 1 && adam.stateTensors().isEmpty)
        bad.gradient = Matrix(rows: 1, columns: 1, storage: [.infinity])
        #expect(adam.update([good, bad]) == .skippedNonFinite(parameter: "bad"))
        bad.gradient = Matrix(rows: 1, columns: 1, storage: [1])
        #expect(adam.update([good, bad]) == .applied)
        #expect(adam.step == 1 && adam.skippedSteps == 2)
    }

    @Test func stateRoundTripContinuesExactly() throws {
        func run(_ optimizer: some Optimizer<Double>, _ p: Parameter<Double>, steps: Range<Int>) {
            for t in steps {
                p.gradient = Matrix(rows: 1, columns: 2, storage: [sin(Double(t)), cos(Double(t))])
                _ = optimizer.update([p])
            }
        }
        let schedule = try LearningRateSchedule(baseRate: 0.1, decay: .cosine, warmupSteps: 2, totalSteps: 10)
        let reference = parameter([1, -1], gradient: [0, 0])
        run(try Adam<Double>(schedule: schedule), reference, steps: 0..<8)

        let p = parameter([1, -1], gradient: [0, 0])
        let first = try Adam<Double>(schedule: schedule)
        run(first, p, steps: 0..<5)
        let second = try Adam<Double>(schedule: schedule)
        try second.loadState(tensors: first.stateTensors(), scalars: first.stateScalars(), parameters: [p])
        #expect(Set(first.stateTensors().keys) == ["exp_avg.p", "exp_avg_sq.p"])
        run(second, p, steps: 5..<8)
        #expect(p.value == reference.value)

        #expect(throws: OptimizerError.self) {
            try second.loadState(tensors: [:], scalars: ["step": "3", "skipped_steps": "0"], parameters: [p])
        }
    }

    @Test func schedules() throws {
        let warm = try LearningRateSchedule(baseRate: 1, decay: .cosine, warmupSteps: 4, totalSteps: 14, finalFraction: 0.1)
        #expect(warm.rate(atStep: 0) == 0.25 && warm.rate(atStep: 3) == 1)
        #expect(abs(warm.rate(atStep: 4) - 1) < 1e-15)
        #expect(abs(warm.rate(atStep: 9) - (0.1 + 0.9 * 0.5)) < 1e-15) // halfway: cos(π/2) = 0
        #expect(abs(warm.rate(atStep: 14) - 0.1) < 1e-15 && abs(warm.rate(atStep: 100) - 0.1) < 1e-15)
        let linear = try LearningRateSchedule(baseRate: 2, decay: .linear, totalSteps: 10)
        #expect(abs(linear.rate(atStep: 5) - 1) < 1e-15)
        #expect(try LearningRateSchedule.constant(0.3).rate(atStep: 1000) == 0.3)
        #expect(throws: OptimizerError.self) { try LearningRateSchedule.constant(-1) }
        #expect(throws: OptimizerError.self) { try SGD<Float>(schedule: .constant(1), momentum: 1) }
        #expect(throws: OptimizerError.self) { try Adam<Float>(schedule: .constant(1), beta1: 1.5) }
    }
}
