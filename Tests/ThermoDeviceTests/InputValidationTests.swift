import Linalg
import Testing
import ThermoDevice

/// Every refusal is a typed `ThermoDeviceError` whose message says what to do.
@Suite struct InputValidationTests {
    let device = ThermodynamicDevice<Double>(configuration: try! DeviceConfiguration())

    func expectError(_ check: (ThermoDeviceError) -> Bool, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a ThermoDeviceError")
        } catch let error as ThermoDeviceError {
            #expect(check(error), "unexpected error: \(error)")
            #expect(!error.description.isEmpty)
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test func rejectsNonSquare() {
        expectError({ if case .notSquare(2, 3) = $0 { return true }; return false }) {
            _ = try device.program(Matrix<Double>(rows: 2, columns: 3))
        }
    }

    @Test func rejectsNonSymmetric() {
        expectError({ if case .notSymmetric(1, 0, _, _) = $0 { return true }; return false }) {
            _ = try device.program(Matrix<Double>([[2, 0.5], [0.4, 2]]))
        }
    }

    @Test func rejectsNonFinite() {
        expectError({ if case .nonFinite = $0 { return true }; return false }) {
            _ = try device.program(Matrix<Double>([[2, .nan], [.nan, 2]]))
        }
        var d = device
        expectError({ if case .nonFinite = $0 { return true }; return false }) {
            _ = try d.solve(Matrix<Double>.identity(2), [1, .infinity], time: 10)
        }
    }

    @Test func rejectsIndefinite() {
        expectError({ if case let .notPositiveDefinite(l, _) = $0 { return l < 0 }; return false }) {
            _ = try device.program(Matrix<Double>([[1, 2], [2, 1]]))
        }
    }

    @Test func rejectsTooLargeAndWrongShapes() throws {
        let small = ThermodynamicDevice<Double>(configuration: try DeviceConfiguration(maximumSize: 2))
        expectError({ if case .tooLarge(3, 2) = $0 { return true }; return false }) {
            _ = try small.program(Matrix<Double>.identity(3))
        }
        var d = device
        expectError({ if case .dimensionMismatch = $0 { return true }; return false }) {
            _ = try d.solve(Matrix<Double>.identity(3), [1, 2], time: 10)
        }
    }

    /// Readout counts past `CovarianceSampling.largestSampleCount` are refused by name before any arithmetic on
    /// them: `Int.max` samples used to trap with an arithmetic overflow, and a time/interval ratio beyond `Int`'s
    /// range in the conversion to a readout count.
    @Test func refusesReadoutCountsBeyondTheLargest() {
        var d = device
        expectError({ if case .invalidParameter("samples", _, _) = $0 { return true }; return false }) {
            _ = try d.inverse(Matrix<Double>.identity(3), samples: Int.max)
        }
        expectError({ if case .invalidParameter("samples", _, _) = $0 { return true }; return false }) {
            _ = try d.inverse(Matrix<Double>.identity(3), samples: CovarianceSampling.largestSampleCount + 1)
        }
        expectError({ if case .invalidParameter("time", _, _) = $0 { return true }; return false }) {
            _ = try d.solve(Matrix<Double>.identity(3), [1, 2, 3], time: 1e300, sampleInterval: 1e-300)
        }
    }

    /// Euler–Maruyama with δt ≥ 2/λ_max is refused with the largest stable step in the message.
    /// After scaling into the coupling range 1, λ_max ≈ 1, so δt = 2.5 is unstable.
    @Test func refusesUnstableTimeStepWithLargestStableValue() throws {
        let config = try DeviceConfiguration(spectralBound: .gershgorin, timeStep: 2.5)
        let d = ThermodynamicDevice<Double>(configuration: config)
        let a = Matrix<Double>.diagonal([1, 0.5, 0.25])
        expectError({ error in
            guard case let .unstableTimeStep(dt, stable, lmax, _) = error else { return false }
            return dt == 2.5 && abs(stable - 2) < 1e-12 && abs(lmax - 1) < 1e-12 && error.description.contains("δt < 2.0")
        }) { _ = try d.program(a) }
        // The exact integrator is stable for any step.
        let exact = ThermodynamicDevice<Double>(configuration: try DeviceConfiguration(spectralBound: .gershgorin,
                                                                                      timeStep: 2.5, integrator: .exact))
        _ = try exact.program(a)
        // Underdamped: h* = (−γ + sqrt(γ² + 4λm))/λ = (−1 + sqrt(5)) ≈ 1.236 for m = γ = λ = 1.
        let under = ThermodynamicDevice<Double>(configuration: try DeviceConfiguration(
            spectralBound: .gershgorin, timeStep: 1.3, dynamics: .underdamped(mass: 1, friction: 1)))
        expectError({ if case let .unstableTimeStep(_, s, _, _) = $0 { return abs(s - (5.0.squareRoot() - 1)) < 1e-12 }; return false }) {
            _ = try under.program(a)
        }
    }

    @Test func rejectsInvalidConfiguration() {
        for make in [{ try DeviceConfiguration(beta: 0) }, { try DeviceConfiguration(timeStep: -1) },
                     { try DeviceConfiguration(chains: 1) }, { try DeviceConfiguration(mismatch: 1.5) },
                     { try DeviceConfiguration(inputConverter: .init(bits: 40)) },
                     { try DeviceConfiguration(integrator: .exact, dynamics: .underdamped(mass: 1, friction: 1)) }] {
            do {
                _ = try make()
                Issue.record("configuration should be refused")
            } catch {
                #expect(error is ThermoDeviceError)
            }
        }
    }
}
