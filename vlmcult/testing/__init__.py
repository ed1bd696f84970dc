"""vlmcult.testing."""
