"""Research: one market topic, three agents, the report (drawn by ui.research_page)."""

from ui import nav, research_page

nav.through_app(nav.research())
research_page.page()
