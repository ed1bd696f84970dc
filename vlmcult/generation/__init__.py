"""vlmcult.generation."""
