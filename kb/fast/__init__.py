"""What exists only to make builds fast: memory between builds, forked helpers, GC pauses.

Only kb.build, kb.pipeline and kb.serve import this package (see docs/architecture.md)."""
