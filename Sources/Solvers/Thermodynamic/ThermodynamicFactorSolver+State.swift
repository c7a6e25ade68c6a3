import Linalg
import ThermoDevice

extension ThermodynamicFactorSolver {
    // MARK: State

    /// Method 1: the device inverses. Method 2: the damped factors (re-programmed on import: programming
    /// is deterministic for a device seed) and the warm starts. Both: each device's call counter (noise seeds).
    public func exportState() -> [String: Matrix<Scalar>] {
        var out: [String: Matrix<Scalar>] = [:]
        for (layer, s) in layers {
            if let m = s.activationInverse { out["\(layer).activation_inverse"] = m }
            if let m = s.gradientInverse { out["\(layer).gradient_inverse"] = m }
            if let m = s.activationDamped { out["\(layer).activation_damped"] = m }
            if let m = s.gradientDamped { out["\(layer).gradient_damped"] = m }
            // Kept as rows (Xᵀ, U); saved in the checkpoint layout X (n_G × n_A) and Uᵀ (n_A × n_G).
            if let m = s.previousXRows { out["\(layer).warm_x"] = m.transposed() }
            if let m = s.previousURows { out["\(layer).warm_ut"] = m.transposed() }
        }
        for (layer, d) in devices {
            // Call counters as (low 20 bits, the rest) per device: each word exact in Float (< 2^24) up to 2^44 calls.
            // Ensemble member k's pair of counters follows member k − 1's (member 0 alone: the single-device layout).
            func words(_ c: UInt64) -> [Scalar] { [Scalar(Double(c & 0xF_FFFF)), Scalar(Double(c >> 20))] }
            let w = d.activation.indices.flatMap { words(d.activation[$0].calls) + words(d.gradient[$0].calls) }
            out["\(layer).device_calls"] = Matrix(rows: 1, columns: w.count, storage: w)
        }
        // Cumulative device accounting, so that a resumed run's metrics continue the interrupted run's
        // (modelled device terms only: the simulator's wall time is this process's, not the device's).
        let s = ledger.serial
        out["device_ledger"] = Matrix(rows: 1, columns: 11, storage: [
            ledger.totalParallelSeconds, Double(ledger.closedSteps + (ledger.hasOpenStep ? 1 : 0)), s.dacTransferSeconds,
            s.programmingSeconds, s.equilibrationSeconds, s.samplingSeconds, s.adcReadoutSeconds, s.energyJoules,
            Double(s.readouts), Double(valuesSent), Double(errors),
        ].map { Scalar($0) })
        return out
    }

    public func importState(_ state: [String: Matrix<Scalar>]) throws(KFACError) {
        var restored: [String: LayerState] = [:]
        var names = Set<String>()
        let savedLedger = state["device_ledger"]
        for key in state.keys {
            for suffix in [".activation_inverse", ".activation_damped", ".device_calls"] where key.hasSuffix(suffix) {
                names.insert(String(key.dropLast(suffix.count)))
            }
        }
        devices = [:]
        for layer in names {
            var s = LayerState()
            s.activationInverse = state["\(layer).activation_inverse"]
            s.gradientInverse = state["\(layer).gradient_inverse"]
            s.activationDamped = state["\(layer).activation_damped"]
            s.gradientDamped = state["\(layer).gradient_damped"]
            s.previousXRows = state["\(layer).warm_x"]?.transposed()
            s.previousURows = state["\(layer).warm_ut"]?.transposed()
            var pair = devicePair(layer)
            if let calls = state["\(layer).device_calls"] {
                // (low 20 bits, rest) per device; an older checkpoint stored one exact count per device.
                let w = calls.storage.map { UInt64(Double($0)) }
                let k = configuration.ensemble
                guard w.count == 4 * k || (k == 1 && w.count == 2) else {
                    throw .stateMismatch(key: "\(layer).device_calls",
                                         detail: "expected \(4 * k) device call words (ensemble of \(k)), found \(w.count)")
                }
                for m in 0..<k {
                    let (a, g) = w.count == 2 ? (w[0], w[1]) : (w[4 * m] | w[4 * m + 1] << 20, w[4 * m + 2] | w[4 * m + 3] << 20)
                    pair.activation[m] = ThermodynamicDevice(configuration: pair.activation[m].configuration, calls: a)
                    pair.gradient[m] = ThermodynamicDevice(configuration: pair.gradient[m].configuration, calls: g)
                }
                devices[layer] = pair
            }
            if configuration.method == .linearSystems {
                // Raw feed: the saved couplings are the quantised arrays' Gram matrix; do not quantise again.
                let bypass: Int? = configuration.feed == .raw ? 0 : nil
                guard let a = s.activationDamped, let g = s.gradientDamped else {
                    if s.activationInverse == nil { continue }
                    throw .stateMismatch(key: layer, detail: "damped factors missing from the saved \(name) state")
                }
                // Equilibration scales follow from the saved damped factors' diagonals, as at the refresh.
                s.activationScales = equilibration(of: a)
                s.gradientScales = equilibration(of: g)
                s.activationProgrammed = try programAll(s.activationScales?.congruence(a) ?? a, on: pair.activation,
                                                        layer: layer, factor: "A + λ_A I", rawValues: bypass).0
                s.gradientProgrammed = try programAll(s.gradientScales?.congruence(g) ?? g, on: pair.gradient,
                                                      layer: layer, factor: "G + λ_G I", rawValues: bypass).0
            }
            restored[layer] = s
        }
        layers = restored
        // After the re-programming above (which counts values and costs again): the saved totals win.
        if let l = savedLedger?.storage.map({ Double($0) }), l.count == 11 {
            var serial = DeviceCost()
            serial.dacTransferSeconds = l[2]; serial.programmingSeconds = l[3]; serial.equilibrationSeconds = l[4]
            serial.samplingSeconds = l[5]; serial.adcReadoutSeconds = l[6]; serial.energyJoules = l[7]
            serial.readouts = Int(l[8])
            ledger = DeviceCostLedger(restoring: l[0], closedSteps: Int(l[1]), serial: serial)
            valuesSent = Int(l[9])
            errors = Int(l[10])
        }
    }
}
