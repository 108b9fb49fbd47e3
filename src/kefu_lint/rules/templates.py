"""Required good practice (green zone): what a reply in a given scene must contain."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Violation
from ..text.analysis import Analysis
from .base import Requirement, Rule, RuleConfig, choice, requirement_list, string
from .matching import PhraseAutomaton


class RequiredElements(Rule):
    """## What it does
    Flags a reply in the rule's scenes that lacks one of the required elements listed in
    the ruleset entry (a shop's own template requirement).

    ## Why is this bad?
    The ruleset entry's ``doc`` says why.

    ## Fix safety
    When the entry has a ``template`` and ``insert: start|end``, the suggestion is the reply
    with the template added, applied only with ``--unsafe-fixes``.
    """

    check_name = "required"
    whole_reply = True
    options = {
        "require": requirement_list,
        "template": string,
        "insert": choice("start", "end", "none"),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.requirements: tuple[Requirement, ...] = config.options.get("require", ())
        self.template: str | None = config.options.get("template")
        self.insert: str = config.options.get("insert", "none")
        self._automaton = PhraseAutomaton(
            (phrase, index) for index, requirement in enumerate(self.requirements) for phrase in requirement.any
        )

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        present = {hit.payload for hit in self._automaton.hits(analysis.text)}
        missing = [r.name for i, r in enumerate(self.requirements) if i not in present]
        if not missing:
            return
        yield self.whole_reply_violation(
            analysis,
            suggestion=self._with_template(analysis.original),
            missing="、".join(missing),
            template=self.template or "",
        )

    def _with_template(self, reply: str) -> str | None:
        if not self.template or self.insert == "none":
            return None
        reply = reply.strip()
        return reply + self.template if self.insert == "end" else self.template + reply


class MissingThanks(RequiredElements):
    """## What it does
    In the ``closing`` scene, flags a reply without thanks and a good wish.

    ## Why is this bad?
    Green zone, the expected form: the standard's closing is the thanks template
    「感谢您的信任,祝您购物愉快!」. Leaving without thanking the customer ends the
    conversation on a transaction instead of a relationship.

    ## Example
    ```
    好的,已经给您处理好了
    ```

    ## Use instead
    ```
    好的,已经给您处理好了,感谢您的信任,祝您购物愉快!
    ```

    ## Fix safety
    The suggestion appends the template; applied only with ``--unsafe-fixes``.
    """

    code_default = "KF301"
    rule_name = "missing-thanks"


class MissingEmpathy(RequiredElements):
    """## What it does
    In the ``complaint`` scene, flags a reply without an expression of empathy
    (我理解…, 非常理解您的心情, 抱歉让您… all count).

    ## Why is this bad?
    Green zone. With an upset customer the standard asks the agent to stay calm and
    express sympathy before anything else; the training material reports that phrases like
    「我理解…」 raise repurchase by 23%.

    ## Example
    ```
    请提供一下订单号
    ```

    ## Use instead
    ```
    非常理解您的心情,麻烦您提供一下订单号,我马上为您核实
    ```

    ## Fix safety
    The suggestion prepends an empathy phrase; applied only with ``--unsafe-fixes``.
    """

    code_default = "KF302"
    rule_name = "missing-empathy"


class MissingGreeting(RequiredElements):
    """## What it does
    In the ``greeting`` scene, flags a first reply without a greeting.

    ## Why is this bad?
    Green zone. The standard's three-part reply starts by acknowledging the customer; an
    answer with no greeting reads as cold.

    ## Example
    ```
    什么事
    ```

    ## Use instead
    ```
    您好,很高兴为您服务,请问有什么可以帮您?
    ```

    ## Fix safety
    The suggestion prepends 您好; applied only with ``--unsafe-fixes``.
    """

    code_default = "KF303"
    rule_name = "missing-greeting"


class IncompleteApology(RequiredElements):
    """## What it does
    In the ``logistics_delay`` scene, flags a reply missing any of apology, explanation
    and compensation (道歉+解释+补偿).

    ## Why is this bad?
    Green zone. The standard's script for a late parcel is apology + explanation +
    compensation; an apology alone leaves the customer without a reason or a remedy.

    ## Example
    ```
    不好意思,快递还在路上
    ```

    ## Use instead
    ```
    非常抱歉让您久等了,由于近期快递爆仓,包裹有所延误,我们为您申请了5元无门槛优惠券作为补偿
    ```

    ## Fix safety
    No automatic fix: the explanation and the compensation must be true.
    """

    code_default = "KF304"
    rule_name = "incomplete-apology"
