import Foundation
import Linalg
import Reporting
import ThermoDevice

/// `thermograd bench device`'s side-by-side rows against thermox 0.0.6 (bench/thermox_reference.py, run as a
/// child process in the same run, so both see the same machine load).
///
/// Protocol matched to thermox's `linalg.solve` defaults: one readout per `dt = 1` in A's time units (device
/// interval `1/α` τ, since the device holds `α A`), `samples` readouts, the same problem family (eigenvalues
/// log-uniform in [1/κ, 1], random basis; different draws). Signal-to-noise matched: thermox samples
/// `dx = -A(x − A⁻¹b)dt + dW` (stationary covariance `A⁻¹/2`); the device holds `b' = γb` (γ = 1/max|b|) and
/// `A' = αA` with covariance `A'⁻¹/β`, so the ratio mean/noise is the same for `β = 2α/γ²`. Differences we keep:
/// our chains burn in (7 relaxation times, one exact jump each) where thermox starts one chain at 0 and keeps the
/// transient; thermox forms the mean `A⁻¹b` digitally (`jnp.linalg.solve`) and samples around it, the device
/// reaches it through the dynamics. Wall times include programming (the eigendecomposition) on both sides.
extension BenchDevice {
    struct ThermoxRow: Codable {
        var n: Int
        var kappa: Double
        var samples: Int
        var beta: Double
        var sampleInterval: Double
        var integrator: String
        /// Median over `repeats` device seeds of programming + solve wall time.
        var wallSeconds: Double
        /// Mean relative error against LAPACK over the repeats.
        var relativeError: Double
        var thermoxWallSeconds: Double?
        var thermoxRelativeError: Double?
        /// thermox wall time / Thermograd wall time (same run).
        var speedup: Double?
        var note: String?
    }

    /// Our rows at thermox's protocol, then the reference script for the same sizes; joined by n.
    func thermoxRows(sizes: [Int], kappa: Double, samples: Int, repeats: Int) throws -> [ThermoxRow] {
        var rows: [ThermoxRow] = []
        for n in sizes {
            let a: Matrix<Float> = try BenchmarkProblems.randomSPD(n, condition: kappa, seed: seed)
            let b: [Float] = BenchmarkProblems.randomVector(n, seed: seed)
            let reference = try LAPACKReference.solution(a, b)
            let gamma = 1 / Double(b.map { abs($0) }.max() ?? 1)
            // α does not depend on β or the seed: a probe programming fixes it.
            let alpha = try ThermodynamicDevice<Float>(configuration: DeviceConfiguration(integrator: .eigenbasis)).program(a).scale
            let beta = 2 * alpha / (gamma * gamma), interval = 1 / alpha
            var times: [Double] = [], errors: [Double] = []
            for r in 0..<repeats {
                let config = try DeviceConfiguration(beta: beta, timeStep: 1e6, integrator: .eigenbasis, chains: accuracyChains,
                                                     seed: seed &+ UInt64(r))
                var device = ThermodynamicDevice<Float>(configuration: config)
                var x: [Float] = []
                let t = try BenchmarkTiming.seconds {
                    let p = try device.program(a)
                    x = try device.solve(p, b, time: Double(samples) * interval, sampleInterval: interval).solution
                }
                times.append(t)
                errors.append(LAPACKReference.relativeError(x, reference))
            }
            rows.append(ThermoxRow(n: n, kappa: kappa, samples: samples, beta: beta, sampleInterval: interval,
                                   integrator: DeviceConfiguration.Integrator.eigenbasis.rawValue,
                                   wallSeconds: BenchmarkTiming.median(times),
                                   relativeError: errors.reduce(0, +) / Double(errors.count)))
        }
        let reference = runThermoxScript(sizes: sizes, kappa: kappa, samples: samples, repeats: repeats)
        for i in rows.indices {
            switch reference {
            case let .success(results):
                if let t = results.first(where: { $0.n == rows[i].n }) {
                    rows[i].thermoxWallSeconds = t.wallSeconds
                    rows[i].thermoxRelativeError = t.relativeError
                    rows[i].speedup = t.wallSeconds / rows[i].wallSeconds
                } else {
                    rows[i].note = "thermox script returned no row for n = \(rows[i].n)"
                }
            case let .failure(reason): rows[i].note = reason.message
            }
        }
        return rows
    }

    struct ThermoxResult: Codable { var protocol_: String; var n: Int; var wallSeconds: Double; var relativeError: Double
        enum CodingKeys: String, CodingKey { case protocol_ = "protocol", n, wallSeconds, relativeError }
    }
    struct ThermoxFailure: Error { var message: String }

    /// Runs `python3 <thermoxScript> --protocols solve …` and decodes its JSON; a missing Python, thermox or
    /// script becomes a note in the rows (the reference needs `pip install thermox==0.0.6`).
    func runThermoxScript(sizes: [Int], kappa: Double, samples: Int, repeats: Int) -> Result<[ThermoxResult], ThermoxFailure> {
        guard FileManager.default.fileExists(atPath: thermoxScript) else {
            return .failure(ThermoxFailure(message: "reference script \(thermoxScript) not found (run from the repository root)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", thermoxScript, "--protocols", "solve", "--sizes"] + sizes.map(String.init)
            + ["--kappas", "\(kappa)", "--samples", "\(samples)", "--repeats", "\(repeats)", "--seed", "\(seed)"]
        let out = Pipe()
        // Standard error goes to a file: reading two pipes one after the other can deadlock on a full buffer.
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("thermograd-thermox-\(getpid()).log")
        FileManager.default.createFile(atPath: errPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errPath) }
        process.standardOutput = out
        do {
            process.standardError = try FileHandle(forWritingTo: errPath)
            try process.run()
        } catch {
            return .failure(ThermoxFailure(message: "could not start python3: \(error)"))
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errText = (try? String(contentsOf: errPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let last = errText.split(separator: "\n").last.map(String.init) ?? ""
            return .failure(ThermoxFailure(message: "thermox reference failed (exit \(process.terminationStatus)): \(last); "
                                           + "install it with `pip install thermox==0.0.6`"))
        }
        struct Output: Codable { var results: [ThermoxResult] }
        do {
            return .success(try JSONDecoder().decode(Output.self, from: data).results.filter { $0.protocol_ == "solve" })
        } catch {
            return .failure(ThermoxFailure(message: "could not read the thermox script's JSON: \(error)"))
        }
    }
}
