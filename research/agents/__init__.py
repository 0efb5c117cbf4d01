"""The agents: one module each, holding its prompt next to its output model."""
