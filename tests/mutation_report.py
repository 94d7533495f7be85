"""Kill rate per rule module from mutmut's results (``make mutate`` prints it).

Reads ``mutants/<file>.meta`` (mutmut 3) and the reviewed equivalent mutants listed in
``tests/equivalent_mutants.md`` (a mutant name in backticks at the start of a list item).
Kill rate = killed / (mutants checked - equivalent); timeouts count as killed (the mutant
made the rule loop or stall, which a patient would notice).
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mutmut.stats import status_by_exit_code  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = set(
    re.findall(
        r"^- `([\w.]+__mutmut_\d+)`", (ROOT / "tests/equivalent_mutants.md").read_text(), re.M
    )
)


def main() -> None:
    rows = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        counts: Counter[str] = Counter()
        survivors = []
        for name, code in data.get("exit_code_by_key", {}).items():
            status = status_by_exit_code[code]
            if status == "survived" and name in EQUIVALENT:
                status = "equivalent"
            counts[status] += 1
            if status == "survived":
                survivors.append(name)
        checked = counts["killed"] + counts["timeout"] + counts["survived"]
        if not checked:
            continue
        rate = 100 * (counts["killed"] + counts["timeout"]) / checked
        module = str(meta.relative_to(ROOT / "mutants"))[: -len(".meta")]
        rows.append((module, checked + counts["equivalent"], counts, rate, survivors))
    print("| module | mutants | killed | equivalent | survived | kill rate |")
    print("|---|---:|---:|---:|---:|---:|")
    for module, total, counts, rate, _ in rows:
        killed = counts["killed"] + counts["timeout"]
        print(
            f"| `{module}` | {total} | {killed} | {counts['equivalent']} | {counts['survived']} "
            f"| {rate:.1f}% |"
        )
    for module, _, _, _, survivors in rows:
        for name in survivors:
            print(f"survived: {name}  ({module})")


if __name__ == "__main__":
    main()
