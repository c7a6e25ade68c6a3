// ThermoDevice: see Package.swift for this module's role. Filled in by its issue.
