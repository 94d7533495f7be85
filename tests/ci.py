"""Whether the tests run in CI, read from the ``CI`` environment variable as a boolean.

CI services set ``CI=true``; a developer may export ``CI=false`` (or ``0``, ``no``, ``off``,
empty) to say the opposite. Hypothesis alone would treat any ``CI`` value, even "false", as
CI (it checks only that the variable exists), so the profile is chosen here explicitly.
"""

import os

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def ci_enabled(environ=os.environ) -> bool:
    return environ.get("CI", "").strip().lower() in TRUE_WORDS
