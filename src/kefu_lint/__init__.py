"""kefu-lint: check Chinese e-commerce customer-service replies against etiquette standards.

>>> import kefu_lint
>>> kefu_lint.score("不行,这个不算售后").grade           # doctest: +SKIP
'red'

Importing this package loads no dictionary and prints nothing; the tokenizer loads on the
first check (or on ``Linter.warm_up()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigError, InputError, KefuLintError, PatternTimeoutWarning, RulesetError
from .model import SCENES, ZONES, Evidence, IntentHit, Message, Score, Span, Violation

if TYPE_CHECKING:
    from .engine import Linter
    from .rulesets import Ruleset, load_ruleset
    from .text.tokenize import TokenizerPool

__version__ = "0.1.0"

__all__ = [
    "lint",
    "score",
    "intents",
    "Linter",
    "TokenizerPool",
    "Ruleset",
    "load_ruleset",
    "Violation",
    "Evidence",
    "IntentHit",
    "Score",
    "Span",
    "Message",
    "SCENES",
    "ZONES",
    "KefuLintError",
    "ConfigError",
    "RulesetError",
    "InputError",
    "PatternTimeoutWarning",
    "__version__",
]


def lint(text: str, *, scene: str | None = None) -> list[Violation]:
    """Findings in one reply with the default ruleset. ``scene``: one of :data:`SCENES` or None."""
    from .engine import default_linter

    return default_linter().lint(text, scene=scene)


def intents(text: str, *, role: str = "agent") -> list[IntentHit]:
    """The acts a message performs (refusal, apology, greeting …), clause by clause, with
    spans and confidence, for ``role`` ``agent`` or ``customer``, with the default ruleset."""
    from .engine import default_linter

    return default_linter().intents(text, role=role)


def score(text: str, *, scene: str | None = None) -> Score:
    """Score one reply (0..100, grade red/yellow/green) with the default ruleset."""
    from .engine import default_linter

    return default_linter().score(text, scene=scene)


def __getattr__(name: str) -> object:
    # The engine pulls in the rule machinery; import it only when asked for.
    if name == "Linter":
        from .engine import Linter

        return Linter
    if name == "TokenizerPool":
        from .text.tokenize import TokenizerPool

        return TokenizerPool
    if name in ("Ruleset", "load_ruleset"):
        from . import rulesets

        return getattr(rulesets, name)
    raise AttributeError(f"module 'kefu_lint' has no attribute {name!r}")
