"""Fuzzing the loaders a user's files reach: the config loader and the ruleset loader.

(The script and chat-log readers are fuzzed in ``test_bad_input.py``.) The promise held:
whatever the file holds, the loader returns a value or raises the library's own error
(:class:`ConfigError`, :class:`RulesetError`) with a message; never another exception.

The normal suite runs at least 150 examples per property. For a long run (issue #19)::

    HYPOTHESIS_PROFILE=long python -m pytest tests/adversarial/test_fuzz.py tests/adversarial/test_bad_input.py -k "fuzz or arbitrary or shaped" -q

(20,000 examples per property, ``tests/conftest.py``; about 10 minutes on a shared two-core machine).
"""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu_lint.config import KEYS, load_settings, settings_from
from kefu_lint.errors import ConfigError, KefuLintError
from kefu_lint.rulesets import ENTRY_KEYS, TOP_LEVEL_KEYS, load_ruleset

FUZZ = settings(max_examples=max(150, settings.default.max_examples),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["KF101", "red", "ALL", "*.txt", "gb18030", "nope", "presale", "jieba", "售前", "2"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                      max_leaves=8)


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(sorted(KEYS)), st.text(max_size=8)), VALUES, max_size=5))
def test_config_values_of_any_type(data):
    try:
        settings_from(data, Path("kefu-lint.toml"))
    except ConfigError as error:
        assert str(error).startswith("kefu-lint.toml:")


TOML_PIECES = st.lists(st.sampled_from([
    *[f"{key} = " for key in sorted(KEYS)], '"KF101"', "[", "]", "{", "}", "=", ",", '"*.txt"', "true", "5", "1e400",
    "\n", '[tool.kefu-lint]\n', '"', "'", "#", "售前", " ", "inf", "nan", '"""', "\\u0000", "\x00",
]), max_size=25).map("".join)


@FUZZ
@given(TOML_PIECES, st.sampled_from(["kefu-lint.toml", "pyproject.toml", ".kefu-lint.yaml"]))
def test_config_files_of_any_text(tmp_path_factory, text, name):
    folder = tmp_path_factory.mktemp("config")
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(folder, path)
    except ConfigError as error:
        assert str(error)


RULESET_PIECES = st.lists(st.sampled_from([
    *[f"{key}: " for key in sorted(TOP_LEVEL_KEYS - {"extends"})], "extends: default\n", "extends: [a]\n", "extends: ../x\n",
    "rules:\n", "  KF901:\n", "  KF202:\n", "  KF101: {enabled: false}\n", *[f"    {key}: " for key in sorted(ENTRY_KEYS)],
    "    check: phrases\n", "    check: condition\n", "    check: privacy\n", "    check: nope\n", "    phrases: [a, b]\n",
    "    patterns: ['(a+)+$']\n", "    patterns: ['[']\n", "    zone: red\n", "    weight: 1e400\n", "    weight: -5\n",
    "    message: 不要「{matched}」\n", "    examples: {bad: [{text: a, mark: a}], good: [b]}\n", "    examples: {bad: [x]}\n",
    "intents:\n", "  refusal: {zone: red}\n", "\n", "[", "]", "{", "}", ": ", "- ", "&a ", "*a ", "!!python/name:os.system ", "\t",
    "'", '"', "\\x01", "售前", "\x01",
]), max_size=20).map("".join)


@FUZZ
@given(RULESET_PIECES)
def test_rulesets_of_any_text(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("ruleset")
    path = folder / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_ruleset(path, project_root=folder)
    except KefuLintError as error:
        assert str(error)


@FUZZ
@given(st.text(alphabet=string.printable + "不行你好售前：「」\u3000\ud800", max_size=300))
def test_rulesets_of_arbitrary_text(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("ruleset")
    path = folder / "shop.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_ruleset(path, project_root=folder)
    except KefuLintError as error:
        assert str(error)
