import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_CORPORA = ROOT.parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def linter():
    from kefu_lint import Linter

    return Linter()


@pytest.fixture(scope="session")
def jddc_path():
    path = Path(os.environ.get("KEFU_LINT_JDDC", SHARED_CORPORA / "jddc_sample.tsv"))
    if not path.is_file():
        pytest.skip("JDDC sample not present (../shared/corpora/jddc_sample.tsv)")
    return path


from hypothesis import HealthCheck, settings  # noqa: E402

# The suite's profile (the tokenizer's first load must not count against a deadline), and
# `HYPOTHESIS_PROFILE=long` for a longer fuzz run.
settings.register_profile("kefu", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kefu"))
