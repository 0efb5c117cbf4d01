"""Retrieval: web search backends, page fetching with an SSRF guard, and the evidence agents cite."""
