import Solvers

/// An experiment described by a typed configuration: every field has its default here and `validate()` is the one
/// home of its checks (the CLI's `experiment` commands only fill the fields the user passed).
public protocol ExperimentDefinition: Sendable {
    /// The experiment with its defaults.
    init()
    func validate() throws(ExperimentError)
}

/// A table column of an experiment: header, decimals, and the value read from one evaluation record (nil: blank).
public typealias ExperimentColumn = (header: String, digits: Int, value: (ExperimentRecord) -> Double?)

/// An experiment made of TK-FAC arms on the K-FAC comparison harness (quantisation, methods, mitigation): the
/// shared comparison settings, the device settings every arm starts from, its arms and its table's columns.
public protocol TKFACArmsExperiment: ExperimentDefinition, CustomStringConvertible {
    var comparison: KFACComparisonSettings { get set }
    /// TK-FAC settings every arm starts from (each arm sets what it sweeps).
    var device: ThermodynamicKFACOptions { get set }
    func arms() throws(ExperimentError) -> [ExperimentArm]
    static var tableColumns: [ExperimentColumn] { get }
}

extension MethodsExperiment: TKFACArmsExperiment {}
extension MitigationExperiment: TKFACArmsExperiment {}
extension QuantizationExperiment: TKFACArmsExperiment {}
extension MethodsWidthExperiment: ExperimentDefinition {}
extension RuntimeExperiment: ExperimentDefinition {}
