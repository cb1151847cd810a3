"""The shared coverage engine: demand, coverage models, gaps and the siting solver (pure functions)."""
