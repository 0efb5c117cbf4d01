"""The engine core: the step-graph executor, its limits, errors and run results."""
