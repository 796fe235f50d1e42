"""Console subcommands (no Qt)."""
