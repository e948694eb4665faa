"""Local HTTP servers that follow each vendor's documented request and response shapes."""
