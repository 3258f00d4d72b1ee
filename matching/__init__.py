"""Pure computation on an in-memory network projection: no database driver, no HTTP."""
