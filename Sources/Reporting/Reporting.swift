// Reporting: CSV, SVG plots, tables, progress lines, benchmark statistics.
