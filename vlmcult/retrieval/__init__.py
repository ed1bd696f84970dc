"""vlmcult.retrieval."""
