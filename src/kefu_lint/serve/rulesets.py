"""The rulesets a service serves: one Linter each, built at start-up (a broken ruleset stops
the service before it listens, with the file and line), all drawing their tokenizer from
one pool, so Linters of the same dictionary share it."""

from __future__ import annotations

from ..engine import Linter
from ..text.tokenize import TokenizerPool
from .options import ServiceOptions


class ServedRulesets:
    def __init__(self, options: ServiceOptions) -> None:
        self.tokenizers = TokenizerPool()
        self.default = options.default_ruleset
        self.linters: dict[str, Linter] = {
            name: Linter(source, select=options.select, ignore=options.ignore, tokenizer=options.tokenizer,
                         shop_numbers=options.shop_numbers, tokenizers=self.tokenizers)
            for name, source in options.rulesets
        }
        self.sources = dict(options.rulesets)

    def warm_up(self) -> None:
        for linter in self.linters.values():
            linter.warm_up()

    def get(self, name: str | None) -> Linter | None:
        return self.linters.get(name or self.default)
