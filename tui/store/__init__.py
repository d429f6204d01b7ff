"""Local index: TinyDB shards of every response we created or imported."""
