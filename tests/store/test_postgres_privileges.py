"""A PostgreSQL workstation account with only the privileges docs/storage.md lists can read."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from store_workload import make_submission

from readerstudy.store import open_store

GRANTS = """
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT UPDATE ON {schema}.audit_chain_head, {schema}.study_meta, {schema}.reads_in_progress
    TO {role};
GRANT DELETE ON {schema}.reads_in_progress TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
"""


@pytest.mark.requires_postgres
def test_a_least_privilege_account_reads_and_cannot_rewrite(location, postgres_url):
    if location.backend != "postgresql":
        pytest.skip("PostgreSQL roles only")
    with location.open() as store:  # created by the coordinator's (owner) account
        store.put_meta("definition", {"name": "study-a"})
    role = f"rs_ws_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.exec_driver_sql(GRANTS.format(schema=location.schema, role=role))
    workstation_url = sa.make_url(postgres_url).set(username=role, password="pw")
    try:
        url = workstation_url.render_as_string(hide_password=False)
        with open_store(url, study_id="study-a", schema=location.schema) as store:
            store.append_event("login", reader="r1")
            store.start_read("r1", 1, "c1", at=make_submission("r1", 1, "c1", 1).started_at)
            store.submit_read(make_submission("r1", 1, "c1", 1))
            store.put_meta("locked", True)
            assert store.verify_audit().ok
        attacker = sa.create_engine(
            workstation_url, connect_args={"options": f"-csearch_path={location.schema}"}
        )
        try:
            refused = pytest.raises(sa.exc.ProgrammingError, match="must be owner")
            with refused, attacker.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE reads DISABLE TRIGGER USER")
            refused = pytest.raises(sa.exc.ProgrammingError, match="permission denied")
            with refused, attacker.begin() as conn:
                conn.exec_driver_sql("UPDATE reads SET units = '{}'")
        finally:
            attacker.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
