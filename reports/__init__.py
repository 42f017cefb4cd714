"""Table and figure builders: format aggregated CSVs; no computation of metrics."""
