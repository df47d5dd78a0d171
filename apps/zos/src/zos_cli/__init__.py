"""The `zos` command line."""
