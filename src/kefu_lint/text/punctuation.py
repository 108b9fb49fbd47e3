"""Chinese punctuation for the text kefu-lint writes: suggestions, templates, rewritten replies.

A CS trainer reads 「好的，还有其他问题吗？感谢您的信任，祝您购物愉快！」, not 「…问题吗感谢您的
信任，祝您购物愉快!」: marks next to Chinese text are full-width (，。！？：；), and a template
added to a reply is a sentence of its own, joined with the mark the reply's last sentence
calls for.
"""

from __future__ import annotations

import regex

_FULL = {",": "，", "!": "！", "?": "？", ";": "；", ":": "：", "(": "（", ")": "）"}
_HAN = regex.compile(r"\p{Han}")
#: Marks that end a sentence; after one a new sentence starts without another mark.
SENTENCE_ENDS = "。！？!?~～…"
#: Marks after which a reply runs on: an added sentence continues it as written.
CLAUSE_MARKS = "，,、；;：:"
#: The last clause of a question to the customer (…吗, 请问…, 是否…): it ends with ？.
_QUESTION = regex.compile(r"(?:[吗么嘛]\W*$)|(?:^\W*(?:请问|是否|有没有|能不能|可不可以|要不要))")
_CLAUSE_BREAK = regex.compile(r"[，,。！？!?；;：:\s]+")


def _is_han(char: str) -> bool:
    return bool(char) and _HAN.match(char) is not None


def full_width_punctuation(text: str) -> str:
    """``text`` with the half-width marks of Chinese sentences made full-width.

    A mark is Chinese when a Han character stands next to it, or, for ``! ?``, when it ends a
    sentence that has Han in it (「…138****5678!」). Marks between digits or Latin words
    (``10:00``, ``1,000``, ``www.x.com``, ``SKU:``) stay as typed.
    """
    out = []
    sentence_has_han = False
    for index, char in enumerate(text):
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if char in _FULL:
            ends_chinese_sentence = char in "!?" and sentence_has_han and not (after.isascii() and after.isalnum())
            out.append(_FULL[char] if _is_han(before) or _is_han(after) or ends_chinese_sentence else char)
        elif char == "." and _is_han(before) and (not after or after.isspace() or _is_han(after)):
            out.append("。")
        else:
            out.append(char)
        if _is_han(char):
            sentence_has_han = True
        elif char in SENTENCE_ENDS or char == "\n":
            sentence_has_han = False
    return "".join(out)


def asks(sentence: str) -> bool:
    """True when the last clause of ``sentence`` asks the customer something."""
    clauses = [c for c in _CLAUSE_BREAK.split(sentence) if c]
    return bool(clauses) and _QUESTION.search(clauses[-1]) is not None


def append_sentence(reply: str, sentence: str) -> str:
    """``sentence`` added after ``reply`` as a sentence of its own: after a sentence end or a
    clause mark as written; otherwise the reply's last sentence is closed with ？ when it asks
    and 。 when it states."""
    reply = reply.rstrip()
    if not reply:
        return sentence
    if reply[-1] in SENTENCE_ENDS or reply[-1] in CLAUSE_MARKS:
        return reply + sentence
    return reply + ("？" if asks(reply) else "。") + sentence


def prepend_clause(opening: str, reply: str) -> str:
    """``opening`` (您好，/非常理解您的心情，) put before ``reply``, followed by a comma if it has none."""
    reply = reply.lstrip()
    if opening and opening[-1] not in SENTENCE_ENDS + CLAUSE_MARKS:
        opening += "，"
    return opening + reply


__all__ = ["full_width_punctuation", "append_sentence", "prepend_clause", "asks", "SENTENCE_ENDS"]
