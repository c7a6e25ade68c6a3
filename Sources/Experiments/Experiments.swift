// Experiments: the papers' experiments. `Common/` holds the shared machinery (arms × seeds, records,
// combined CSV, SVG panels, final table); each experiment builds its arms and calls `ExperimentRunner`.
