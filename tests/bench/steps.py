"""The server's own step timings, read from its debug log (`AUTOGATE_LOG=autogate=debug`,
`AUTOGATE_LOG_FILE`): lines such as `door: admitted ms=8.69`. Shared by the benches here."""

import re
import statistics

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def print_medians(log, pattern, label, width):
    """Prints, per step that `pattern` (groups: step name, milliseconds) finds in `log`, the
    median and the count, each line starting with `label`."""
    steps = {}
    pattern = re.compile(pattern)
    with open(log, errors="replace") as f:
        for line in f:
            found = pattern.search(ANSI.sub("", line))
            if found:
                steps.setdefault(found.group(1), []).append(float(found.group(2)))
    for step, values in steps.items():
        print(f"{label}{step:<{width}} median {statistics.median(values):7.2f} ms   (n={len(values)})")
