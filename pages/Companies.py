"""Companies: research many companies at once and compare them (drawn by ui.companies_page)."""

from ui import companies_page, nav

nav.through_app(nav.companies())
companies_page.page()
