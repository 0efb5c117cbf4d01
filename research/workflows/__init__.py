"""The workflows: market research and company batches, declared as graphs of steps."""
