"""vlmcult.report."""
