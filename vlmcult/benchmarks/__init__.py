"""One module per benchmark; see base.Benchmark for what each declares."""
