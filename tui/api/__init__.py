"""Responses API client: profiles, HTTP, SSE, typed events, errors."""
