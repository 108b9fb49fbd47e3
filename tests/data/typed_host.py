"""A host program that uses every public name of kefu_lint; `mypy --strict` must pass on it
(tests/test_typing.py), as it would in a host project that type-checks its own code."""

from __future__ import annotations

import warnings
from pathlib import Path

import kefu_lint
from kefu_lint import (
    SCENES,
    ZONES,
    ConfigError,
    Evidence,
    InputError,
    IntentHit,
    KefuLintError,
    Linter,
    Message,
    PatternTimeoutWarning,
    Ruleset,
    RulesetError,
    Score,
    Span,
    TokenizerPool,
    Violation,
    __version__,
    intents,
    lint,
    load_ruleset,
    score,
)


def first_finding(text: str) -> Violation | None:
    found: list[Violation] = lint(text, scene=SCENES[0])
    return found[0] if found else None


def grade(text: str) -> str:
    result: Score = score(text)
    return result.grade


def flagged_words(message: Message, linter: Linter) -> list[str]:
    spans: list[Span] = [v.span for v in linter.lint(message.text, scene=message.scene)]
    return [message.text[span.start:span.end] for span in spans]


def acts(text: str) -> list[str]:
    hits: list[IntentHit] = intents(text, role="agent")
    return [hit.intent for hit in hits]


def why(violation: Violation) -> float | None:
    evidence: Evidence | None = violation.evidence
    return evidence.confidence if evidence is not None else None


def shops(names: list[str]) -> dict[str, Linter]:
    pool = TokenizerPool()
    loaded: dict[str, Ruleset] = {name: load_ruleset(name) for name in names}
    return {name: Linter(ruleset, tokenizers=pool, tokenizer="auto") for name, ruleset in loaded.items()}


def safely(path: Path) -> str:
    try:
        return Linter(path).ruleset.name
    except RulesetError as error:
        return f"{error.source}:{error.line}: {error}"
    except (ConfigError, InputError, KefuLintError) as error:
        return str(error)


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PatternTimeoutWarning)
        linter = Linter()
        fixed, applied = linter.fix("您的电话13812345678", unsafe=False)
        print(__version__, kefu_lint.__version__, ZONES, fixed, len(applied), grade("不行"))
        print(first_finding("不行"), flagged_words(Message("不行"), linter), acts("抱歉"), shops(["default"]))
        print(safely(Path("missing.yaml")), [why(v) for v in linter.lint("不行")])


if __name__ == "__main__":
    main()
