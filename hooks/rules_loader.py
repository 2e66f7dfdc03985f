"""The one loader of hooks/rules.py: its source compiled into a new module on every call, never a bytecode cache.

cruft renders two releases in one clone and one process. An import, or importlib's spec_from_file_location,
reads hooks/__pycache__ and trusts a cached rules.pyc whose source has the same size and modification second:
a patch release that changes only TEMPLATE_RELEASE, checked out within that second, was refused by the previous
release's rules. So whatever needs the rules (the sandbox extension for each Jinja environment, the
pre-generation hook, the generator, the tests) runs this file with runpy.run_path, which compiles it from its
text too, and calls load_rules (or load_source, for another file): no cache is read, none is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

RULES_FILE = Path(__file__).resolve().with_name("rules.py")
RULES_MODULE = "go_scratch_service_rules"


def load_source(path: Path, name: str) -> ModuleType:
    """A new module named name, run from the text of the file at path: no bytecode read or written."""
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    exec(compile(path.read_bytes(), str(path), "exec", dont_inherit=True), module.__dict__)
    return module


def load_rules(path: Path = RULES_FILE) -> ModuleType:
    """The rules in hooks/rules.py beside this file (or in another copy of it), read afresh."""
    return load_source(path, RULES_MODULE)
