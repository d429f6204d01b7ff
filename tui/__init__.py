"""responses-tui: a terminal browser for Responses API conversation trees."""

__version__ = "0.1.0"
