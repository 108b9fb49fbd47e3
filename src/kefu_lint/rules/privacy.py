"""Customer data in clear: phone, ID-card and bank-card numbers, and accounts (a labelled
account name, any e-mail address)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import regex

from ..model import Violation
from ..text.analysis import Analysis
from .base import Option, Rule, RuleConfig, integer, string_list, string_map_of_lists
from .matching import PhraseAutomaton
from .triggers import Trigger

_MOBILE = regex.compile(r"(?<![0-9])1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
_ID_CARD = regex.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9x](?![0-9a-z])")
_BANK_CARD = regex.compile(r"(?<![0-9])[0-9]{4}(?:[- ]?[0-9]{4}){2,3}(?:[- ]?[0-9]{1,3})?(?![0-9])")

_DIGIT = regex.compile(r"[0-9]")
#: A number as typed after its label: digits with spaces or dashes between, any checksum.
_LABELLED_NUMBER = regex.compile(r"[0-9](?:[- ]?[0-9]){6,21}(?:[- ]?x)?(?![0-9a-z*])")
#: What may sit between a label and its number: 是, 为, a colon, spaces, a closing bracket.
_LABEL_GAP = regex.compile(r"(?:号码|号)?[\s:：是为为:()（）]*")
#: An account name as typed after its label (jd_138abc, wangxm1988, a mailbox): five or
#: more Latin letters, digits, ``_ . -``, possessive so a masked name (jd_1***88) is no match.
_LABELLED_ACCOUNT = regex.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{3,63}+(?:@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})?(?![A-Za-z0-9_*@])")
#: An e-mail address anywhere: it names its owner's account wherever it stands.
_EMAIL = regex.compile(r"(?<![A-Za-z0-9_.%+\-*])[A-Za-z0-9_.%+\-]{1,64}+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9\-])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CODES = "10x98765432"

KIND_LABELS = {"phone": "手机号", "id_card": "身份证号", "bank_card": "银行卡号", "account": "账号"}


def valid_id_card(digits: str) -> bool:
    """Mainland resident ID: a real birth date and the ISO 7064 MOD 11-2 check character."""
    try:
        datetime.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS))
    return _ID_CHECK_CODES[total % 11] == digits[17].lower()


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _as_written(analysis: Analysis, match) -> str:
    """The matched name as the agent typed it: normalisation lower-cases Latin letters, and
    the fix must keep 「AB」 as 「AB」."""
    start, end = analysis.to_original(match.start(), match.end())
    return analysis.original[start:end]


def _account_like(name: str) -> bool:
    """An account name rather than a word after the label (「请登录账号 login 一下」): a digit,
    ``_ . @`` in it, or six letters or more (zhangsan)."""
    return len(name) >= 5 and (any(c.isdigit() or c in "_.@" for c in name) or len(name) >= 6)


def mask_account(name: str) -> str:
    """jd_138abc2233 -> jd*********33, lily.wang@qq.com -> li*******@qq.com: the start and
    the end (or the mailbox's domain) stay, enough for the customer to recognise it."""
    local, at, domain = name.partition("@")
    if at:
        keep = min(2, max(1, len(local) - 1))
        return local[:keep] + "*" * (len(local) - keep) + "@" + domain
    keep = 2 if len(name) >= 6 else 1
    return name[:keep] + "*" * (len(name) - 2 * keep) + name[len(name) - keep:]


def mask(number: str, keep_start: int, keep_end: int) -> str:
    """138 1234 5678 -> 138****5678: separators go, the middle digits become *."""
    digits = [c for c in number if c.isalnum()]
    hidden = len(digits) - keep_start - keep_end
    return "".join(digits[:keep_start]) + "*" * hidden + "".join(digits[len(digits) - keep_end:])


class PrivacyLeak(Rule):
    """Flags mainland mobile, ID-card and bank-card numbers and customers' accounts in clear.
    A number right after one of its ``labels`` is a leak whatever its spacing, separators or
    checksum; elsewhere an ID number needs a real birth date and check character, and a card
    number a valid Luhn digit with a ``card_context`` word near it. An account is a name right
    after an ``account`` label (账号, 用户名, 邮箱 …) or any e-mail address. Masked values,
    ``allowed_numbers`` and ``allowed_accounts`` pass; the safe fix masks the middle.
    """

    check_name = "privacy"
    options = {
        "kinds": Option(string_list, "which numbers to flag: " + ", ".join(KIND_LABELS), tuple(KIND_LABELS)),
        "card_context": Option(string_list, "words that make a Luhn-valid number a bank card when they are near it", ("银行卡", "卡号")),
        "context_window": Option(integer, "how many characters before a number a context word may sit", 12),
        "labels": Option(string_map_of_lists, "per kind, the labels after which any number of that kind's length is a leak", {}),
        "allowed_numbers": Option(string_list, "the shop's own numbers (hotline, return address): never flagged or masked", ()),
        "allowed_accounts": Option(string_list, "the shop's own accounts and mailboxes (service@shop.com): never flagged or masked", ()),
    }

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        options = config.options
        self.kinds = set(options["kinds"])
        unknown = self.kinds - set(KIND_LABELS)
        if unknown:
            from .base import OptionError

            raise OptionError(f"unknown kinds {sorted(unknown)}; known: {sorted(KIND_LABELS)}")
        self.context_window = options["context_window"]
        self._card_context = PhraseAutomaton((w, w) for w in options["card_context"])
        labels = options["labels"]
        unknown = set(labels) - set(KIND_LABELS)
        if unknown:
            from .base import OptionError

            raise OptionError(f"unknown kinds {sorted(unknown)} under labels; known: {sorted(KIND_LABELS)}")
        self._labels = PhraseAutomaton((word, kind) for kind, words in labels.items() for word in words)
        # The shop's own numbers, compared digit for digit: 400-820-8820 is 4008208820.
        self.allowed_numbers = frozenset("".join(c for c in n if c.isdigit()) for n in options["allowed_numbers"])
        self.allowed_accounts = frozenset(a.strip().lower() for a in options["allowed_accounts"])
        self._account_labels = tuple(labels.get("account", ()))

    @property
    def fixable(self) -> bool:
        return True

    @property
    def trigger(self) -> Trigger:
        # every number it looks for has digits, a mailbox has @, an account name its label
        return Trigger(phrases=(*"0123456789@", *(self._account_labels if "account" in self.kinds else ())))

    def check(self, analysis: Analysis) -> Iterator[Violation]:
        text = analysis.text
        accounts = "account" in self.kinds
        has_digits = _DIGIT.search(text) is not None
        if not has_digits and not accounts:
            return
        taken: list[tuple[int, int]] = []
        for hit in self._labels.hits(text):
            kind = hit.payload
            if kind not in self.kinds:
                continue
            gap = _LABEL_GAP.match(text, hit.end)
            pattern = _LABELLED_ACCOUNT if kind == "account" else _LABELLED_NUMBER
            match = pattern.match(text, gap.end() if gap else hit.end)
            if match is None or any(s < match.end() and match.start() < e for s, e in taken):
                continue
            if kind == "account":
                name = match.group()
                if _MOBILE.fullmatch(name) and "phone" in self.kinds:
                    kind = "phone"  # an account that is a mobile number is masked as one
                else:
                    if _account_like(name) and not self._allowed_account(name):
                        taken.append(match.span())
                        yield self._leak(analysis, match, kind, mask_account(_as_written(analysis, match)))
                    continue
            digits = "".join(c for c in match.group() if c.isalnum())
            if self._allowed(digits):
                continue
            taken.append(match.span())
            keep = (0, 4) if kind == "bank_card" else (3, 4) if len(digits) >= 9 else (0, 2)
            yield self._leak(analysis, match, kind, mask(match.group(), *keep))
        if accounts and "@" in text:
            for match in _EMAIL.finditer(text):
                if any(s < match.end() and match.start() < e for s, e in taken) or self._allowed_account(match.group()):
                    continue
                taken.append(match.span())
                yield self._leak(analysis, match, "account", mask_account(_as_written(analysis, match)))
        if not has_digits:
            return
        if "phone" in self.kinds:
            for match in _MOBILE.finditer(text):
                if any(s < match.end() and match.start() < e for s, e in taken) or self._allowed(match.group()):
                    continue
                taken.append(match.span())
                yield self._leak(analysis, match, "phone", mask(match.group(), 3, 4))
        if "id_card" in self.kinds:
            for match in _ID_CARD.finditer(text):
                if any(s < match.end() and match.start() < e for s, e in taken):
                    continue
                if valid_id_card(match.group()) and not self._allowed(match.group()):
                    taken.append(match.span())
                    yield self._leak(analysis, match, "id_card", mask(match.group(), 3, 4))
        if "bank_card" in self.kinds:
            context_ends = [hit.end for hit in self._card_context.hits(text)]
            for match in _BANK_CARD.finditer(text):
                digits = "".join(c for c in match.group() if c.isdigit())
                if any(s < match.end() and match.start() < e for s, e in taken):
                    continue
                near = any(match.start() - self.context_window <= end <= match.start() for end in context_ends)
                if 16 <= len(digits) <= 19 and near and luhn_valid(digits) and not self._allowed(digits):
                    yield self._leak(analysis, match, "bank_card", mask(digits, 0, 4))

    def _allowed_account(self, name: str) -> bool:
        return name.lower() in self.allowed_accounts

    def _allowed(self, number: str) -> bool:
        return "".join(c for c in number if c.isdigit()) in self.allowed_numbers

    def _leak(self, analysis: Analysis, match, kind: str, masked: str) -> Violation:
        return self.violation(
            analysis, match.start(), match.end(), suggestion=masked, fix=masked, kind=KIND_LABELS[kind], masked=masked
        )
