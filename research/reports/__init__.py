"""Reports: typed sections rendered to Markdown, JSON and charts."""
