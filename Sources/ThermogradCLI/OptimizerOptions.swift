import ArgumentParser
import Training

/// Every optimiser option of `thermograd train` and `thermograd bench train-step`: K-FAC / NGD, the TK-FAC
/// method, TNGD, and the device of `--optimizer tkfac|tngd|tngd-adam` (one device option group; its
/// defaults are those of the chosen optimiser's device, both shown in `--help`).
struct OptimizerOptions: ParsableArguments {
    @OptionGroup(title: "K-FAC and natural gradient (--optimizer kfac|tkfac|ngd-cg|ngd-exact)")
    var curvature: KFACOptions
    @OptionGroup(title: "Thermodynamic K-FAC (--optimizer tkfac; K-FAC settings from --kfac-*)")
    var tkfac: TKFACMethodOptions
    @OptionGroup(title: "Thermodynamic natural gradient (--optimizer tngd|tngd-adam)")
    var tngd: TNGDOptions
    @OptionGroup(title: "Device (--optimizer tkfac|tngd|tngd-adam)")
    var device: DeviceOptions<OptimizerDevices>

    /// Writes the passed settings of `c.optimizer` over the configurations' defaults (validated here and in
    /// `TrainingConfiguration.validate()`); device options with an optimiser that has no device are refused.
    func apply(to c: inout TrainingConfiguration) throws {
        curvature.apply(to: &c)
        switch c.optimizer {
        case .tkfac: c.thermodynamicKFAC = try tkfac.options(device: device)
        case .tngd, .tngdAdam: c.tngd = try tngd.settings(device: device, seed: c.seed)
        default: try device.requireNone(because: "applies to --optimizer tkfac, tngd or tngd-adam only")
        }
    }
}
