"""The Textual app: screens, widgets and their styles. Talks to the pure layers (api, store,
forest, ops) only through their public functions."""
