import ArgumentParser
import Foundation
import Testing
import ThermogradCLI

/// Every refused command names the option (or file), the problem and what to do, and exits with a code in
/// 1…127: the cases of the reliability probe that used to trap, print raw Foundation errors or say "Missing
/// value" for a negative number.
@Suite struct ErrorMessageTests {
    /// Parses and runs `arguments` as `main` would (negative numbers joined to their option); the message and
    /// exit code of the error, or nil when the command succeeded.
    func failure(_ arguments: [String]) -> (message: String, code: Int32)? {
        do {
            var command = try ThermogradCommand.parseAsRoot(ThermogradCommand.joiningNegativeNumbers(arguments))
            try command.run()
            return nil
        } catch {
            return (ThermogradCommand.message(for: error), ThermogradCommand.exitCode(for: error).rawValue)
        }
    }

    @Test(arguments: [
        (["train", "--train-subset", "-5"], "train subset must be at least 1"),
        (["train", "--kfac-kl-clip", "-1"], "--kfac-kl-clip -1.0 is invalid"),
        (["train", "--kfac-kl-clip", "nan"], "--kfac-kl-clip nan is invalid"),
        (["train", "--threads", "100000"], "--threads 100000 is invalid"),
        (["bench", "blas", "--threads", "100000"], "--threads 100000 is invalid"),
        // One `--threads` declaration (ThreadsOption) for every command: the LoRA experiment used to accept any count ≥ 1.
        (["experiment", "lora", "--threads", "100000"], "--threads 100000 is invalid"),
        (["experiment", "tngd-mnist", "--threads", "0"], "--threads 0 is invalid"),
        (["experiment", "runtime", "--threads", "100000"], "--threads 100000 is invalid"),
        (["simulate", "solve", "--n", "8", "--threads", "0"], "--threads 0 is invalid"),
        (["bench", "train-step", "--threads", "100000"], "--threads 100000 is invalid"),
        (["train", "--epochs", "9223372036854775807"], "epochs must be in 1...1000000"),
        (["train", "--lr", "1e39"], "Float's largest value"),
        (["train", "--hidden", "1000000000"], "needs about"),
        (["predict", "--gemm-flops", "inf"], "--gemm-flops must be positive and finite"),
        (["predict", "--factorization-flops", "nan"], "--factorization-flops must be positive and finite"),
        (["predict", "--programming-time", "inf"], "--programming-time inf is invalid"),
        (["predict", "--tau", "-1"], "--tau -1.0 is invalid"),
        // The TNGD sweeps name the option before any data is read (they used to name a configuration field at run time).
        (["experiment", "tngd-delay", "--t", "-2"], "--t must be finite and non-negative"),
        (["experiment", "tngd-delay", "--delays", "-1"], "--delays must be finite and non-negative"),
        (["experiment", "tngd-time", "--times", "5", "inf"], "--times must be finite and non-negative"),
        (["experiment", "tngd-noise", "--noises", "-1"], "--noises must be finite and positive"),
        (["predict", "--workload", "transformer-4611686018427387904"], "width 4611686018427387904 is too large"),
        (["predict", "--workload", "mlp", "--device-size", "100"], "--device-size 100 is invalid"),
        // Readout counts are bounded where they are declared (they used to overflow: a trap, or a run that never ends).
        (["predict", "--readouts", "9223372036854775807"], "--readouts 9223372036854775807 is invalid"),
        (["predict", "--samples", "9223372036854775807"], "--samples 9223372036854775807 is invalid"),
        (["simulate", "inverse", "--n", "8", "--samples", "9223372036854775807"], "--samples must be in 1…"),
        (["train", "--optimizer", "tkfac", "--method", "2", "--readouts", "9223372036854775807"], "tkfac.readoutsPerRightHandSide = 9223372036854775807 is invalid"),
        (["train", "--optimizer", "tkfac", "--samples", "9223372036854775807"], "tkfac.samples = 9223372036854775807 is invalid"),
        (["simulate", "solve", "--n", "8", "--dt", "-1"], "--dt -1.0 is invalid"),
        (["simulate", "solve", "--n", "8", "--beta", "0"], "--beta 0.0 is invalid"),
        (["simulate", "solve", "--n", "8", "--chains", "4"], "--chains is too small"),
        (["simulate", "solve", "--n", "8", "--dac-bits", "0"], "--dac-bits 0 bits is invalid"),
        (["simulate", "solve", "--n", "8", "--adc-bits", "99"], "--adc-bits 99 bits is invalid"),
        (["simulate", "solve", "--n", "8", "--mismatch", "2"], "--mismatch 2.0 is invalid"),
        (["simulate", "solve", "--n", "64", "--chains", "10000000000"], "lower --chains"),
        (["bench", "device", "--solve-target", "0"], "--solve-target must be a relative error between 0 and 1"),
        (["bench", "device", "--inverse-target", "0"], "--inverse-target must be a relative error between 0 and 1"),
        (["bench", "device", "--inverse-target", "-0.1"], "--inverse-target must be a relative error between 0 and 1"),
    ])
    func refusedWithTheOptionNamed(arguments: [String], expected: String) {
        guard let (message, code) = failure(arguments) else { Issue.record("\(arguments) was accepted"); return }
        #expect(message.contains(expected), "\(arguments): \(message)")
        #expect((1..<128).contains(code), "\(arguments): exit code \(code)")
    }

    /// A target far below what 10⁸ readouts reach is refused after the pilot run, with the reachable target.
    @Test func unreachableBenchTargetIsRefusedAfterThePilot() {
        let result = failure(["bench", "device", "--sizes", "16", "--chains", "16", "--accuracy-sizes", "16", "--kappas", "10",
                              "--seconds", "0.01", "--accuracy-chains", "16", "--solve-target", "1e-12"])
        #expect(result?.message.contains("--solve-target 1e-12 needs about") == true, "\(result?.message ?? "accepted")")
        #expect(result?.message.contains("choose a target of at least") == true)
    }

    @Test func outputFolderUnderAFileIsNamed() throws {
        let dir = NSTemporaryDirectory() + "thermograd-cli-out-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/afile", contents: Data())
        let result = failure(["predict", "--workload", "mlp", "--out", dir + "/afile/p"])
        #expect(result?.message.contains("\(dir)/afile is a file, not a folder") == true, "\(result?.message ?? "accepted")")
        #expect(result?.message.contains("NSCocoaErrorDomain") == false)
    }

    @Test func negativeNumbersAreJoinedToTheirOption() {
        #expect(ThermogradCommand.joiningNegativeNumbers(["train", "--train-subset", "-5", "--lr", "-1e-3", "--seed", "3"])
                == ["train", "--train-subset=-5", "--lr=-1e-3", "--seed", "3"])
        #expect(ThermogradCommand.joiningNegativeNumbers(["simulate", "solve", "--dt", "-.5", "--kappa=-1", "-h"])
                == ["simulate", "solve", "--dt=-.5", "--kappa=-1", "-h"])
    }
}
