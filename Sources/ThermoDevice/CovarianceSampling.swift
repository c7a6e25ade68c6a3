import Foundation

/// How many readouts an inversion from the device covariance (`A⁻¹ ≈ β Ĉov`, TK-FAC's Method 1) takes and how
/// far apart they are: the one definition that the simulator's TK-FAC solver and the cost model (`thermograd
/// predict`) both read, so that they cannot drift apart (docs/device.md#how-many-samples).
///
/// From `N` effectively independent readouts of an `n`-dimensional Gaussian the sample covariance has relative
/// Frobenius error `E‖Ĉ − C‖_F / ‖C‖_F ≈ sqrt((1 + (tr C)²/‖C‖_F²)/N) ≤ sqrt((n+1)/N)` (equality for an
/// isotropic `C`). Readouts of one chain spaced `s` relaxation times `1/λ_min` apart are correlated: in the
/// slowest mode the squares of consecutive readouts correlate as `ρ = e^{−2s}`, so `N` readouts count as
/// `N (1 − ρ)/(1 + ρ)` independent ones (the AR(1) variance inflation; faster modes decorrelate sooner, so this
/// is the worst case). The readouts that reach a target relative error `ε` are therefore
///
///     N(n, ε, s) = ⌈ (n + 1)/ε² · (1 + ρ)/(1 − ρ) ⌉,   ρ = e^{−2s},
///
/// at least `minimumSamples`. With the defaults (`ε = 0.5`, `s = 1`: inflation 1.31) a factor of order 785 (the
/// MLP's first layer) gets 4128 readouts, one of order 11 the minimum 128: narrow factors need far fewer.
public struct CovarianceSampling: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Target relative Frobenius error `ε` of the covariance (and so of the inverse), dimensionless.
    public var targetRelativeError: Double = 0.5
    /// Analog time between readouts of one chain, in relaxation times `1/λ_min` of the programmed matrix
    /// (`κτ` once `λ_max` is scaled to 1). One relaxation time leaves the slowest mode's squares correlated
    /// by `e^{−2} ≈ 0.14`.
    public var spacingRelaxationTimes: Double = 1
    /// Fewest readouts per inversion: two per chain of the simulator's default 64 chains.
    public var minimumSamples: Int = 128

    /// The defaults above: what TK-FAC's solver and `predict` use unless told otherwise.
    public static let standard = CovarianceSampling()

    public init() {}

    public init(targetRelativeError: Double, spacingRelaxationTimes: Double = CovarianceSampling.standard.spacingRelaxationTimes,
                minimumSamples: Int = CovarianceSampling.standard.minimumSamples) {
        self.targetRelativeError = targetRelativeError
        self.spacingRelaxationTimes = spacingRelaxationTimes
        self.minimumSamples = minimumSamples
    }

    /// Smallest target error accepted: below it a factor of order 65536 would need more than 10⁹ readouts.
    public static let smallestTargetError = 0.01

    /// Most readouts one inversion may ask for (`samples` set by hand): the derived count stays below it for every
    /// accepted target error and order ≤ 65536, and readout counts times orders then stay far from `Int`'s range.
    public static let largestSampleCount = 1_000_000_000

    /// Throws the first field out of range, naming it.
    public func validate() throws(ThermoDeviceError) {
        guard targetRelativeError >= Self.smallestTargetError, targetRelativeError.isFinite else {
            throw .invalidParameter(name: "targetRelativeError", value: "\(targetRelativeError)",
                                    requirement: "the target relative error must be at least \(Self.smallestTargetError) and finite")
        }
        guard spacingRelaxationTimes > 0, spacingRelaxationTimes.isFinite else {
            throw .invalidParameter(name: "spacingRelaxationTimes", value: "\(spacingRelaxationTimes)",
                                    requirement: "the readout spacing must be a positive number of relaxation times")
        }
        guard minimumSamples >= 2 else {
            throw .invalidParameter(name: "minimumSamples", value: "\(minimumSamples)", requirement: "at least 2 readouts for a covariance")
        }
    }

    /// `(1 + ρ)/(1 − ρ)` with `ρ = e^{−2s}`: readouts per effectively independent readout at spacing `s`
    /// relaxation times (≥ 1; `1/s` as `s → 0`).
    public static func correlationInflation(spacingRelaxationTimes s: Double) -> Double {
        let rho = exp(-2 * s)
        return (1 + rho) / (1 - rho)
    }

    /// Readouts for a matrix of order `n`: `⌈(n+1)/ε² · (1+ρ)/(1−ρ)⌉`, at least `minimumSamples`.
    public func samples(order n: Int) -> Int {
        samples(order: n, spacingRelaxationTimes: spacingRelaxationTimes)
    }

    /// The same count at another spacing (TK-FAC's spacing may be set in τ; it is converted per factor).
    public func samples(order n: Int, spacingRelaxationTimes s: Double) -> Int {
        let independent = Double(max(n, 1) + 1) / (targetRelativeError * targetRelativeError)
        let count = (independent * Self.correlationInflation(spacingRelaxationTimes: s)).rounded(.up)
        return max(minimumSamples, Int(min(count, 1e12)))
    }

    /// The error `sqrt((n+1)(1+ρ)/((1−ρ)N))` that `samples` readouts at this spacing reach for order `n`.
    public func relativeError(order n: Int, samples: Int) -> Double {
        (Double(n + 1) * Self.correlationInflation(spacingRelaxationTimes: spacingRelaxationTimes) / Double(max(samples, 1))).squareRoot()
    }

    public var description: String {
        "target error \(targetRelativeError), readouts every \(spacingRelaxationTimes) relaxation times, at least \(minimumSamples)"
    }
}
