"""Model providers: OpenAI, any OpenAI-compatible server, and the offline demo model."""
