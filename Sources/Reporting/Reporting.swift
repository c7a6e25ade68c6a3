// Reporting: CSV, SVG plots, tables, progress lines, benchmark statistics — general tools that the
// trainer, the experiments and the device simulator share.
//
// - `CSVWriter`: RFC 4180 CSV files written row by row (flushed, so a crashed run keeps its metrics).
// - `LinePlot`: multi-series SVG line plots with axes, ticks, legend, optional log scale; panels side by side.
// - `TextTable`: aligned plain-text (or Markdown) tables for summaries.
// - `ProgressLine`: a single self-overwriting status line on standard error, rate-limited.
// - `BenchmarkTiming`, `JSONReport`: medians of repeated runs and JSON output for benchmarks.
// - `AtomicFile`: write-to-temporary-then-rename, so readers never see half a file.
