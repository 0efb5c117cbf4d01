"""Research: one market topic, three agents, the report (drawn by ui.research_page)."""

from ui import research_page, shell

shell.through_app()
research_page.page()
