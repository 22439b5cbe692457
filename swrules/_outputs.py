"""Output paths checked before any work is done: a command that cannot write its result refuses at once.

These checks are a courtesy, not a guarantee (a disk can fill, a folder can vanish in between): the writes
themselves still report their own errors.
"""

from __future__ import annotations

import os
from pathlib import Path

from swrules.errors import InputError, Problem

__all__ = ["check_file", "check_folder"]


def _refuse(option: str, path: str, why: str) -> InputError:
    return InputError([Problem(message=f"{option} {path}: {why}")])


def check_file(path: str, option: str) -> None:
    """Refuse ``path`` (given with ``option``) unless a file can be written there."""
    target = Path(path)
    if target.is_dir():
        raise _refuse(option, path, "is a folder, not a file")
    parent = target.parent
    if not parent.is_dir():
        raise _refuse(option, path, f"the folder {str(parent)!r} does not exist")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise _refuse(option, path, "cannot be written (no permission)")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(option, path, f"cannot create a file in {str(parent)!r} (no permission)")


def check_folder(path: str, option: str) -> None:
    """Refuse ``path`` (given with ``option``) unless it is a folder, or one can be made there, to write into."""
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise _refuse(option, path, "is a file, not a folder")
        if not os.access(target, os.W_OK | os.X_OK):
            raise _refuse(option, path, "cannot be written into (no permission)")
        return
    ancestor = target.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _refuse(option, path, f"cannot be made: {str(ancestor)!r} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _refuse(option, path, f"cannot be made in {str(ancestor)!r} (no permission)")
