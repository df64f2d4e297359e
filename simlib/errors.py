"""The one exception type a user can cause and the CLI turns into a single stderr line."""


class SimlibError(ValueError):
    """Bad input a user can fix: unknown spec, mismatched task, corrupt file, bad option."""
