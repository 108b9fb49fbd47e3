"""Conversation rules: what only shows across messages (timing, follow-up, confirmation).

Greeting, closing thanks and empathy are not here: the audit infers each agent reply's
scenes from the conversation (first reply: greeting; last: closing; the reply to an upset
customer: complaint) and the reply rules KF303/KF301/KF302 apply through those scenes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..model import ChatMessage, Violation
from ..text.normalize import normalize
from .base import Requirement, Rule, RuleConfig, integer, requirement_list, string, string_list, trimmed_range
from .matching import PhraseAutomaton

ConversationHit = tuple[int, Violation]


class ConversationRule(Rule):
    """A rule over a whole conversation (messages in order); findings name a message index."""

    level = "conversation"

    def check(self, analysis):  # pragma: no cover - reply API not used for these rules
        return iter(())

    def check_conversation(self, messages: Sequence[ChatMessage]) -> Iterator[ConversationHit]:  # pragma: no cover
        raise NotImplementedError

    def finding(self, messages: Sequence[ChatMessage], index: int, suggestion: str | None = None, **fields: str) -> ConversationHit:
        """A finding that spans the whole of message ``index``."""
        text = messages[index].text
        start, end = trimmed_range(text)
        return index, self.violation_in(text, start, end, suggestion=suggestion or self.config.suggest, **fields)


def _next_agent(messages: Sequence[ChatMessage], after: int) -> int | None:
    return next((i for i in range(after + 1, len(messages)) if messages[i].role == "agent"), None)


class SlowFirstResponse(ConversationRule):
    """## What it does
    Flags a first agent reply that came more than ``max_seconds`` (30 by default) after the
    customer's first message.

    ## Why is this bad?
    The golden 30 seconds (黄金30秒): complaints rise sharply when the first response takes
    longer. An acknowledgement counts, so there is always something to send in time.

    ## Example
    ```
    customer 10:00:00  在吗?
    agent    10:01:30  您好,请问有什么可以帮您?
    ```

    ## Use instead
    ```
    agent    10:00:05  收到您的消息,请稍等,马上为您处理
    ```

    ## Fix safety
    No fix: a timing rule. Set up an auto-reply or a quick phrase for the first answer.
    """

    check_name = "first-response"
    code_default = "KF401"
    rule_name = "slow-first-response"
    options = {"max_seconds": integer}

    def check_conversation(self, messages: Sequence[ChatMessage]) -> Iterator[ConversationHit]:
        limit = self.config.options.get("max_seconds", 30)
        first_customer = next((i for i, m in enumerate(messages) if m.role == "customer"), None)
        if first_customer is None or messages[first_customer].time is None:
            return
        reply = _next_agent(messages, first_customer)
        if reply is None or messages[reply].time is None:
            return
        waited = messages[reply].time - messages[first_customer].time
        if waited > limit:
            yield self.finding(messages, reply, seconds=f"{waited:.0f}", limit=str(limit))


class UnansweredMessage(ConversationRule):
    """## What it does
    Flags a customer message the agent answered only after ``max_seconds`` (180 by
    default), or a question the conversation never answered at all.

    ## Why is this bad?
    Efficiency is a core element of the standard: a customer left waiting mid-conversation
    is as unhappy as one waiting for the first reply, and an unanswered question is an
    unresolved contact.

    ## Example
    ```
    customer 10:00:00  这个什么时候发货?
    agent    10:09:00  明天发
    ```

    ## Use instead
    ```
    agent    10:00:20  亲,这款今天下单明天发出哦
    ```

    ## Fix safety
    No fix: a timing rule.
    """

    check_name = "unanswered"
    code_default = "KF402"
    rule_name = "unanswered-message"
    options = {"max_seconds": integer, "question_cues": string_list}

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.limit = config.options.get("max_seconds", 180)
        self._cues = PhraseAutomaton((c, c) for c in config.options.get("question_cues", ("?", "吗", "呢", "么", "怎么", "什么")))

    def check_conversation(self, messages: Sequence[ChatMessage]) -> Iterator[ConversationHit]:
        index = 0
        while index < len(messages):
            if messages[index].role != "customer":
                index += 1
                continue
            # A run of customer messages is answered by one reply: judge its first message.
            run_start = index
            while index < len(messages) and messages[index].role == "customer":
                index += 1
            reply = _next_agent(messages, run_start)
            asked = messages[run_start]
            if reply is None:
                question = next((i for i in range(run_start, index) if self._cues.hits(normalize(messages[i].text).text)), None)
                if question is not None:
                    yield self.finding(messages, question, seconds="∞", limit=str(self.limit))
            elif asked.time is not None and messages[reply].time is not None:
                waited = messages[reply].time - asked.time
                if waited > self.limit:
                    yield self.finding(messages, run_start, seconds=f"{waited:.0f}", limit=str(self.limit))


class FollowUpRequirement(ConversationRule):
    """## What it does
    When a customer message matches one of the entry's ``triggers``, flags the
    conversation if the agent's later messages, taken together, lack a required element.

    ## Why is this bad?
    The ruleset entry's ``doc`` says why.

    ## Fix safety
    No fix: the agent must say something true.
    """

    check_name = "follow-up"
    options = {"triggers": string_list, "require": requirement_list, "template": string}

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.requirements: tuple[Requirement, ...] = config.options.get("require", ())
        self._triggers = PhraseAutomaton((t, t) for t in config.options.get("triggers", ()))
        self._required = PhraseAutomaton(
            (phrase, position) for position, requirement in enumerate(self.requirements) for phrase in requirement.any
        )

    def check_conversation(self, messages: Sequence[ChatMessage]) -> Iterator[ConversationHit]:
        trigger = next(
            (i for i, m in enumerate(messages) if m.role == "customer" and self._triggers.hits(normalize(m.text).text)), None
        )
        if trigger is None:
            return
        present: set[int] = set()
        for message in messages[trigger + 1:]:
            if message.role == "agent":
                present.update(hit.payload for hit in self._required.hits(normalize(message.text).text))
        missing = [r.name for i, r in enumerate(self.requirements) if i not in present]
        if missing:
            reply = _next_agent(messages, trigger)
            yield self.finding(
                messages, reply if reply is not None else trigger,
                missing="、".join(missing), template=self.config.options.get("template", ""),
            )


class DelayWithoutRemedy(FollowUpRequirement):
    """## What it does
    Flags a conversation where the customer complained of a late delivery and the agent's
    replies never gave apology, explanation and compensation (道歉+解释+补偿), across all of
    the agent's later messages.

    ## Why is this bad?
    Green zone. The standard's logistics-delay script is apology + explanation +
    compensation; the customer who chased a parcel and got only "还在路上" will chase again,
    or complain.

    ## Example
    ```
    customer  我的快递怎么还没到,都一周了
    agent     亲,物流显示还在路上哦
    ```

    ## Use instead
    ```
    agent     非常抱歉让您久等了,由于近期快递爆仓,包裹有所延误,我们为您申请了5元无门槛优惠券作为补偿
    ```

    ## Fix safety
    No fix: the explanation and the compensation must be true.
    """

    code_default = "KF403"
    rule_name = "delay-without-remedy"


class ChangeNotConfirmed(FollowUpRequirement):
    """## What it does
    Flags a conversation where the customer asked to change an order (address, size,
    colour …) and no later agent message confirmed the change back to them.

    ## Why is this bad?
    Yellow zone. Repeating and confirming order details back to the customer cuts order
    errors by 28%, by the standard's figures; an unconfirmed change is where wrong
    parcels come from.

    ## Example
    ```
    customer  地址改成北京市朝阳区xx路
    agent     好的
    ```

    ## Use instead
    ```
    agent     好的,已为您修改为北京市朝阳区xx路,请您核对一下
    ```

    ## Fix safety
    No fix: the confirmation must repeat the customer's details.
    """

    code_default = "KF404"
    rule_name = "change-not-confirmed"
