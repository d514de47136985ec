"""The Procfile's web command line, as tests and benchmarks start the real server."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def procfile_web_command(port: int) -> tuple[list[str], dict[str, str]]:
    """The Procfile's ``web`` line, with this port and this interpreter's scripts folder for ``.venv/bin``.

    Returns the command and the variables the line sets before it (``NAME=value ...``).
    """
    procfile = ROOT / "Procfile"
    (line,) = [line for line in procfile.read_text().splitlines() if line.startswith("web:")]
    command = re.sub(r"\$\{QINGSHAN_PORT:-\d+\}", str(port), line.removeprefix("web:").strip())
    scripts = Path(sys.executable).parent
    parts = shlex.split(command)
    variables = {}
    while parts and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", parts[0]):
        name, value = parts.pop(0).split("=", 1)
        variables[name] = value
    arguments = [
        str(scripts / part.removeprefix(".venv/bin/")) if part.startswith(".venv/bin/") else part
        for part in parts
    ]
    return arguments, variables
