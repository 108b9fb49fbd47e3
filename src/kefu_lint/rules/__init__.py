"""Rule families. One module per family; each rule a small class with a ruff-style docstring.

``BUILTIN_RULES`` maps a built-in code to its class. ``CHECKS`` maps a ruleset ``check:``
name to the generic logic a shop's own rule can use.
"""

from __future__ import annotations

from .base import Rule
from .conversation import (
    ChangeNotConfirmed,
    ConditionRule,
    DelayWithoutRemedy,
    IncompleteApology,
    MissingEmpathy,
    MissingGreeting,
    MissingThanks,
    SlowFirstResponse,
    UnansweredMessage,
)
from .openers import NegativeOpener
from .phrases import InformalYou, Jargon, PhraseRule, Refusal, RudePhrase
from .privacy import PrivacyLeak
from .tone import CurtReply, EmotionalPunctuation

_BUILTIN_CLASSES: tuple[type[Rule], ...] = (
    NegativeOpener,
    Refusal,
    RudePhrase,
    PrivacyLeak,
    EmotionalPunctuation,
    InformalYou,
    Jargon,
    CurtReply,
    MissingThanks,
    MissingEmpathy,
    MissingGreeting,
    IncompleteApology,
    SlowFirstResponse,
    UnansweredMessage,
    DelayWithoutRemedy,
    ChangeNotConfirmed,
)

BUILTIN_RULES: dict[str, type[Rule]] = {cls.code_default: cls for cls in _BUILTIN_CLASSES if cls.code_default}

CHECKS: dict[str, type[Rule]] = {
    PhraseRule.check_name: PhraseRule,
    ConditionRule.check_name: ConditionRule,
    NegativeOpener.check_name: NegativeOpener,
    PrivacyLeak.check_name: PrivacyLeak,
    EmotionalPunctuation.check_name: EmotionalPunctuation,
    CurtReply.check_name: CurtReply,
}

__all__ = ["BUILTIN_RULES", "CHECKS", "Rule", "ConditionRule"]
