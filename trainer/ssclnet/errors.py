"""Errors the user can fix (bad input files, refused flags): one clear line on stderr and exit code 2 from the
`ssclnet` command line, never a traceback.

`InputError` is a `SystemExit`, so Python callers that expected the trainer's earlier `SystemExit(message)`
refusals keep working; `ssclnet.cli.main` prints its message and returns 2.
"""

from __future__ import annotations


class InputError(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
