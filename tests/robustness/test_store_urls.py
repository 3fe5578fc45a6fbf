"""``--db`` URLs that cannot work are one line naming the fix, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from readerstudy.cli import build_app
from tests.robustness.refusal import assert_one_line
from tests.study.conftest import write_study_folder

runner = CliRunner()


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://reader:secret@:badport/db", "is not a database URL"),
        ("postgresql+pg8000://reader@127.0.0.1/db", "driver 'pg8000' is not supported"),
        ("postgresql+asyncpg://reader@127.0.0.1/db", "supported drivers: psycopg"),
        ("mysql://reader@127.0.0.1/db", "only sqlite and postgresql"),
    ],
)
def test_unusable_database_url_is_one_line(tmp_path, url, needle):
    write_study_folder(tmp_path / "study")
    result = runner.invoke(build_app(), ["study", "status", str(tmp_path / "study"), "--db", url])
    assert_one_line(result, needle)
    assert "secret" not in result.output
    assert not (tmp_path / "study" / "results.sqlite").exists()
