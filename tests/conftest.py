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
