"""arshif: a search engine for Arabic news archives."""

__version__ = "0.2.0"
