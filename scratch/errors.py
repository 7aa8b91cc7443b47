"""The error a user can fix: a bad flag value, a missing, corrupt or wrong-kind file, an unwritable
folder. ``scratch`` prints it as one ``scratch COMMAND: error: ...`` line, without a traceback
(``--debug`` or ``SCRATCH_DEBUG=1`` shows it); any other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A mistake in what the user gave; ``status`` is the exit status (2: usage, 1: the rest)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status
