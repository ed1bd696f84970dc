"""vlmcult.metrics."""
