"""The provider panel: which model server is in use and how to configure one."""

from __future__ import annotations

import streamlit as st

from research.config import Settings, describe_settings
from research.reports import markdown as md
from research.reports.texts import DEMO_NOTICE
from research.reports.views import search_status

_HOW_TO = (  # each setting's name and value apart, so a narrow sidebar wraps between them, never inside one
    ("Put your key in a `.env` file next to `app.py` and restart:", (("OPENAI_API_KEY", "sk-…"),)),
    ("Or point the app at a local OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp):",
     (("OPENAI_BASE_URL", "http://localhost:11434/v1"), ("RESEARCH_MODEL", "llama3.1"))),
    ("Ground reports in web sources with a self-hosted SearXNG:", (("SEARXNG_URL", "http://localhost:8080"),)),
)


def provider_panel(settings: Settings, *, session_key: bool = False) -> None:
    """Draw the sidebar panel (the API key itself is never shown).

    ``session_key`` says a key was pasted in this session, which overrides the demo.
    """
    if session_key:
        settings = settings.with_changes(api_key="(session)", demo=False)
    kind, model = describe_settings(settings)
    with st.sidebar:
        st.subheader("Model provider")
        if kind == "demo":
            st.warning(f"**Demo mode.** {DEMO_NOTICE}", icon=":material/science:")
        elif kind == "openai":
            st.success(f"OpenAI · `{model}`", icon=":material/cloud_done:")
        else:
            st.success(f"OpenAI-compatible server · `{model}`", icon=":material/cloud_done:")
            st.caption(f"Server: `{settings.base_url}`")
        if kind != "demo":
            api = "Responses API" if settings.api == "responses" else "Chat Completions"
            key = "from this session" if session_key else ("set" if settings.api_key else "not set")
            st.caption(f"API: {api} · API key: {key}")
        if kind != "demo":
            st.caption(md.inline(search_status(settings)))  # its address shows as code, like the server's
        for warning in settings.warnings:
            st.warning(warning, icon=":material/timer:")
        with st.expander("How to configure"):
            st.markdown("**Use a real model**")
            for text, settings_lines in _HOW_TO:
                st.caption(text)
                st.markdown("\n".join(f"- `{name}` = `{value}`" for name, value in settings_lines))
            st.caption("One `NAME=value` per line in `.env`; every setting is in `docs/configuration.md`.")
