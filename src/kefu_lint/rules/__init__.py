"""Rule families: one module per family, each holding the checks (the logic) of its rules.

A rule is a ruleset entry (code, name, zone, message, documentation, data) plus the check
its ``check:`` names. ``CHECKS`` is the one registry: check name → class.
"""

from __future__ import annotations

from .base import Option, Rule
from .conversation import ConditionRule
from .openers import NegativeOpener
from .phrases import PhraseRule
from .privacy import PrivacyLeak
from .tone import CurtReply, EmotionalPunctuation

CHECKS: dict[str, type[Rule]] = {
    cls.check_name: cls
    for cls in (PhraseRule, ConditionRule, NegativeOpener, PrivacyLeak, EmotionalPunctuation, CurtReply)
}

__all__ = ["CHECKS", "ConditionRule", "Option", "Rule"]
