"""How an audit builds its engine: small and picklable, so that worker processes and Spark
executors each build the same Linter the driver would. Scoring itself is the engine's
(``Linter.lint_conversation``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import Linter


@dataclass(frozen=True)
class ScorerSpec:
    ruleset: str = "default"
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    tokenizer: str = "jieba"
    #: The shop's own phone numbers (``shop-numbers``): never flagged, as in ``check``.
    shop_numbers: tuple[str, ...] = ()

    def linter(self) -> Linter:
        return Linter(self.ruleset, select=self.select, ignore=self.ignore, tokenizer=self.tokenizer,
                      shop_numbers=self.shop_numbers)
