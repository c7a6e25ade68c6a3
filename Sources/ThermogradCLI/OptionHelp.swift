import ArgumentParser

/// `text` followed by the default a configuration's default instance holds, so that `--help` shows the
/// value the run will use (options are optional; the configuration types are the one home of defaults).
func defaulted(_ text: String, _ value: Any) -> ArgumentHelp {
    ArgumentHelp("\(text) (default: \(value))")
}

/// `text` with an optional default: `none` when the configuration leaves it unset.
func defaulted<T>(_ text: String, _ value: T?, none: String) -> ArgumentHelp {
    defaulted(text, value.map { "\($0)" } ?? none)
}
