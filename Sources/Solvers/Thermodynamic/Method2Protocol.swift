/// TK-FAC Method 2's default protocol per right-hand side (docs/tkfac.md#method-2-readouts): how long the device
/// averages, how many readouts it converts, over how many chains, and the burn-in before the first readout. The one
/// source that the simulator's TK-FAC (`ThermodynamicKFACConfiguration`, `ThermodynamicKFACOptions`, the CLI) and
/// the cost model (`thermograd predict`, `AnalogHardware`) both read, so that `predict` charges the ADC, the
/// averaging and the burn-in of the protocol the simulator runs. Durations are in relaxation times `1/λ_min` of
/// the programmed factor.
public struct Method2Protocol: Sendable, Equatable, Codable {
    /// Averaging window per right-hand side `T`, in relaxation times.
    public var analogRelaxationTimes: Double
    /// Readouts converted by the ADC per right-hand side over `T` (the readout interval is `T / readouts`).
    public var readoutsPerRightHandSide: Int
    /// Independent chains per right-hand side (≥ 2, for an error bar); readouts are split over them.
    public var chainsPerRightHandSide: Int
    /// Burn-in after a warm start (the residual `x₀ − x*` decays as `e^{−A t}`), in relaxation times.
    public var warmStartBurnInRelaxationTimes: Double
    /// Burn-in of a cold start, in relaxation times (`e^{−7} ≈ 10⁻³` of the initial offset remains).
    public var coldBurnInRelaxationTimes: Double

    /// One relaxation time of averaging, 2 readouts (one per chain, 2 chains), a warm-started burn-in of one
    /// relaxation time, a cold one of 7.
    public static let standard = Method2Protocol(analogRelaxationTimes: 1, readoutsPerRightHandSide: 2, chainsPerRightHandSide: 2,
                                                 warmStartBurnInRelaxationTimes: 1, coldBurnInRelaxationTimes: 7)

    /// Most readouts per right-hand side accepted (Method 2 averages over a window of a few relaxation times; a
    /// million readouts per solve is far past any useful protocol and keeps counts far from `Int`'s range).
    public static let largestReadoutsPerRightHandSide = 1_000_000

    public init(analogRelaxationTimes: Double, readoutsPerRightHandSide: Int, chainsPerRightHandSide: Int,
                warmStartBurnInRelaxationTimes: Double, coldBurnInRelaxationTimes: Double) {
        self.analogRelaxationTimes = analogRelaxationTimes
        self.readoutsPerRightHandSide = readoutsPerRightHandSide
        self.chainsPerRightHandSide = chainsPerRightHandSide
        self.warmStartBurnInRelaxationTimes = warmStartBurnInRelaxationTimes
        self.coldBurnInRelaxationTimes = coldBurnInRelaxationTimes
    }

    /// Readouts the simulator converts per right-hand side: every chain reads `⌈readouts / chains⌉` times, so
    /// `readoutsPerRightHandSide` rounded up to a multiple of the chains (2 with the defaults).
    public var convertedReadoutsPerRightHandSide: Int {
        let chains = Swift.max(chainsPerRightHandSide, 1)
        return (readoutsPerRightHandSide + chains - 1) / chains * chains
    }
}
