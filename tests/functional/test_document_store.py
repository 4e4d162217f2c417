"""Where documents live (issue 13, part 1): a local directory by default, or an
S3-compatible store chosen by configuration. The S3 path is tested against a real S3 API
endpoint over HTTP: moto's standalone server (``moto_server``) in a process of its own.

Also: the migration makes every existing document the order of its request, and a
downgrade says it drops the evidence."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import storage
from portal.config import ConfigurationError
from portal.extensions import db
from portal.models import Attachment
from portal.services import attachments, documents
from portal.services.attachments import AttachmentInput
from portal.services.documents import DocumentInput
from portal.services.errors import ValidationFailed
from tests.conftest import IN_CI, sign_in
from tests.databases import Scratch, app_for, using
from tests.factories import World
from tests.pdfs import PLAIN_PDF, make_pdf
from tests.servers import wait_for_port
from tests.smtp import free_port

BUCKET = "portal-documents"
ANNEX = make_pdf(pages=2)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port, for this module."""
    binary = shutil.which("moto_server") or str(Path(__file__).resolve().parents[2]
                                                 / ".venv" / "bin" / "moto_server")
    if not Path(binary).exists():
        message = "moto_server is not installed (pip install -e '.[dev]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            wait_for_port(port, 20)
        except Exception as exc:  # noqa: BLE001 - any failure to start is the message
            if IN_CI:
                pytest.fail(f"moto_server did not start: {exc}")
            pytest.skip(f"moto_server did not start: {exc}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def s3(app, s3_endpoint) -> Iterator[object]:
    """The app storing documents in a fresh bucket of the S3 server; the bucket client."""
    app.config.update({
        "DOCUMENT_STORAGE": "s3", "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "test-key",
        "S3_SECRET_ACCESS_KEY": "test-secret", "S3_PREFIX": f"run-{time.time_ns()}/"})
    client = storage.s3_client(app.config)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    yield client
    app.extensions.pop("document_store", None)


def keys(client, prefix: str) -> list[str]:
    found = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in found.get("Contents", []))


def test_documents_round_trip_through_an_s3_compatible_store(app, client, s3, world,
                                                              policies):
    req = world.file(["@one"], attachment=AttachmentInput("order.pdf", "application/pdf",
                                                          PLAIN_PDF), order_language="tr",
                     documents=[DocumentInput(AttachmentInput("annex.pdf", "application/pdf",
                                                              ANNEX), "annexure", "en")])
    rows = list(db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))
    prefix = app.config["S3_PREFIX"]
    assert keys(s3, prefix) == sorted(
        f"{prefix}{r.sha256[:2]}/{r.sha256[2:4]}/{r.sha256}" for r in rows)
    # Nothing went to the local directory.
    assert not Path(app.config["ATTACHMENT_DIR"]).exists()
    sign_in(client, world.reviewer)
    for row, data in zip(rows, (PLAIN_PDF, ANNEX), strict=True):
        got = client.get(f"/requests/{req.reference}/attachments/{row.id}")
        assert got.status_code == 200 and got.data == data
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_a_refused_or_failed_addition_leaves_no_object_in_the_bucket(app, s3, world,
                                                                      policies, monkeypatch):
    req = world.file(["@one"])
    prefix = app.config["S3_PREFIX"]
    with pytest.raises(ValidationFailed):
        documents.add_documents(world.actor("official"), req.reference, [
            DocumentInput(AttachmentInput("a.pdf", "application/pdf", ANNEX), "annexure",
                          "en"),
            DocumentInput(AttachmentInput("b.pdf", "application/pdf", b"not a pdf"),
                          "annexure", "en")])
    assert keys(s3, prefix) == []

    def failing_commit() -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        documents.add_documents(world.actor("official"), req.reference, [
            DocumentInput(AttachmentInput("a.pdf", "application/pdf", ANNEX), "annexure",
                          "en")])
    monkeypatch.undo()
    assert keys(s3, prefix) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_a_missing_object_is_a_missing_file(app, s3):
    with pytest.raises(FileNotFoundError):
        attachments.read("0" * 64)
    with pytest.raises(FileNotFoundError):
        attachments.read("../../etc/passwd")


def test_a_file_another_row_names_is_never_removed(app, world, policies):
    """Identical files share one copy: a failed transaction keeps a copy a committed row
    names."""
    req = world.file(["@one"], attachment=AttachmentInput("order.pdf", "application/pdf",
                                                          PLAIN_PDF))
    digest = attachments.digest(PLAIN_PDF)
    with pytest.raises(RuntimeError), attachments.staged() as staging:
        staging.written.append(digest)  # as if this transaction had written it
        raise RuntimeError("refused later")
    assert attachments.read(digest) == PLAIN_PDF
    assert req.reference


@pytest.mark.parametrize(("settings", "message"), [
    ({"DOCUMENT_STORAGE": "ftp"}, "DOCUMENT_STORAGE must be one of local, s3"),
    ({"DOCUMENT_STORAGE": "s3"}, "S3_BUCKET is not set"),
])
def test_bad_storage_settings_stop_the_start(tmp_path, settings, message):
    with pytest.raises(ConfigurationError, match=message):
        app_for("sqlite://", tmp_path, **settings)


def test_existing_documents_become_orders_and_a_downgrade_drops_the_evidence(
        database_url, tmp_path: Path):
    from flask_migrate import downgrade, upgrade

    scratch = Scratch(database_url, tmp_path)
    url = scratch.create("documents_upgrade")
    try:
        with using(app_for(url, tmp_path)) as app:
            upgrade()
            w = World()
            w.file(["@a"], attachment=AttachmentInput("order.pdf", "application/pdf",
                                                      PLAIN_PDF), order_language="tr")
            with attachments.staged() as staging:
                documents.add_evidence(w.agency.id, w.official.id, [DocumentInput(
                    AttachmentInput("decree.pdf", "application/pdf", ANNEX), "other")],
                    w.agency.created_at, staging)
                db.session.commit()
            db.session.remove()
            downgrade(revision="c9c16c0324a9")
            with db.engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT count(*) FROM attachments")) == 1
            upgrade()
            with db.engine.connect() as conn:
                found = conn.execute(sa.text(
                    "SELECT filename, kind, context, language, agency_id FROM attachments"
                )).all()
            assert [tuple(r) for r in found] == [("order.pdf", "order", "filing", None, None)]
            assert app.config["DOCUMENT_STORAGE"] == "local"
    finally:
        scratch.drop(url)
        scratch.close()


def test_the_downgrade_says_it_drops_the_document_columns():
    from portal.migration_plan import drops_of

    path = next((Path(__file__).resolve().parents[2] / "migrations" / "versions")
                .glob("*_d13b0d0c5f02_*.py"))
    drops = drops_of(path)
    assert "column attachments.kind" in drops
    assert "column attachments.agency_id" in drops
    assert any("DELETE FROM attachments WHERE request_id IS NULL" in d for d in drops)


def test_check_writes_reads_and_removes_a_probe_in_the_bucket(app, s3):
    from portal.services import readiness

    found = readiness.document_store()
    assert found.status == "ok" and f"s3 bucket {BUCKET}" in found.detail
    assert keys(s3, app.config["S3_PREFIX"]) == []
    app.config["S3_BUCKET"] = "no-such-bucket-here"
    missing = readiness.document_store()
    assert missing.status == "fail" and "no-such-bucket-here" in missing.detail
