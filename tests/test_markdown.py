"""Model and user text in Markdown stays text: no HTML, no structure, no links made of it."""

from __future__ import annotations

from research.reports import markdown as md


def test_addresses_in_model_text_are_kept_from_becoming_links() -> None:
    for rendered in (md.inline("See https://invented.example and www.invented.example"),
                     md.prose("See https://invented.example and www.invented.example")):
        assert "https://" not in rendered and "www." not in rendered, "Streamlit would link them"
        assert rendered.replace("\u200b", "").count("invented.example") == 2, "the text itself is kept"
