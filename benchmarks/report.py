"""How the benchmarks that report in JSON end: the load average at the end beside the one at the
start, the results printed, and written to ``--json`` when given."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def finish(results: dict[str, Any], path: str | None, *, indent: int = 2) -> int:
    results["load_end"] = os.getloadavg()
    text = json.dumps(results, indent=indent)
    print(text)
    if path:
        Path(path).write_text(text)
    return 0
