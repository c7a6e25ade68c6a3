import Foundation
import Linalg
import NeuralNet
import Optimizers
import Testing
import Training
import _TestSupport

/// TNGD inside the trainer: resuming through the safetensors checkpoint reproduces the uninterrupted run
/// bit for bit — weights, the inner optimiser's state, the device state g̃, the noise stream (run counter)
/// and (Euler–Maruyama) the power-iteration vector that sets the integrator step.
@Suite struct TNGDTrainingTests {
    @Test(arguments: [TrainingConfiguration.OptimizerKind.tngd, .tngdAdam], ["euler-maruyama", "exact"])
    func resumedRunEqualsUninterruptedRun(optimizer: TrainingConfiguration.OptimizerKind, integrator: String) throws {
        let train = clusters(count: 200, seed: 1), test = clusters(count: 60, seed: 2)
        var whole = smallConfiguration("tngd-whole-\(optimizer)-\(integrator)")
        whole.dropout = 0
        whole.optimizer = optimizer
        whole.learningRate = optimizer == .tngd ? 0.05 : 0.01
        whole.tngd.analogTime = 2
        whole.tngd.damping = 0.1
        whole.tngd.noise = 1e-2            // noise on, so the RNG stream must survive the resume
        whole.tngd.delay = 0.3
        whole.tngd.momentum = 0.5
        whole.tngd.integrator = integrator
        whole.tngd.timeStep = 2             // larger than 2/λ_max: the step is cut from the λ_max estimate,
                                            // which warm-starts from the checkpointed power vector
        let reference = try Trainer(configuration: whole, train: train, test: test)
        _ = try reference.run()

        let second = try resumedRun(matching: reference, configuration: whole, folder: "tngd-split-\(optimizer)-\(integrator)",
                                    train: train, test: test)
        let tensors = reference.optimizer.stateTensors()
        let exact = integrator == "exact"
        #expect(tensors["tngd.device_state"] != nil && (tensors["tngd.power_vector"] != nil) == !exact)
        #expect(tensors == second.optimizer.stateTensors())
        #expect(reference.optimizer.stateScalars() == second.optimizer.stateScalars())
        let tngd = try #require(second.optimizer as? NaturalGradientDescent<Float>)
        #expect(tngd.failedSteps == 0 && tngd.thermodynamicSolver?.device.runCount == 21)
        let readout = try #require(tngd.thermodynamicSolver?.lastReadout)
        if exact {
            #expect(readout.integrator == .exact && readout.rank > 0)
        } else {
            #expect(readout.integratorStep < whole.tngd.timeStep, "the step cut is active, so the power vector matters")
        }
    }
}
