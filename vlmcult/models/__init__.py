"""One module per backend. Each exposes `load(rest_of_spec, **options)`."""
