"""Offline backend: a deterministic, local implementation of the Responses API."""
