"""Text layer: normalisation keeps offsets, sentences and quotes are found."""

from kefu_lint.text.analysis import find_quotes, split_sentences
from kefu_lint.text.normalize import normalize


def test_normalize_maps_back_to_the_original():
    original = "亲，不 行 哦！！這個"
    normalized = normalize(original)
    assert normalized.text == "亲,不行哦!!这个"
    start = normalized.text.index("不行")
    assert normalized.to_original(start, start + 2) == (2, 5)
    assert original[2:5] == "不 行"


def test_zero_width_and_combining_marks_vanish():
    assert normalize("不\u200b买\u0301别\ufe0f问").text == "不买别问"


def test_spaces_between_latin_words_stay():
    assert normalize("hello world").text == "hello world"


def test_sentences_and_ellipsis():
    text = "好的。不行!好吧...再见\n谢谢"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["好的", "不行", "好吧", "再见", "谢谢"]


def test_quotes():
    text = "您说“不买别问”是谁说的,「不行」"
    assert [text[s:e] for s, e in find_quotes(text)] == ["不买别问", "不行"]
