"""`yidi ledger …` and `yidi verify-evidence`: the checkpoint key, checkpoints, verification online and offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ledger_app = typer.Typer(no_args_is_help=True, help="The audit ledger: verification, checkpoints, the signing key.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"yidi: error: {message}", err=True)
    return typer.Exit(code)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _fail(f"{path}: {exc.strerror}") from None


def verify(expect_head: str | None, checkpoint: list[Path], evidence: list[Path]) -> None:
    """Verify the database's ledger against its checkpoints and the given ones; exit 1 on any problem."""
    from sqlmodel import Session

    import ledger
    from api.dbcli import init_db
    from audit.offline import zip_checkpoints
    from config.db import get_engine

    given = [_read(p).decode("utf-8", "replace") for p in checkpoint]
    for path in evidence:
        try:
            given += zip_checkpoints(_read(path))
        except (ValueError, KeyError) as exc:
            raise _fail(f"{path}: not an evidence zip ({exc})") from None
    init_db()
    with Session(get_engine()) as session:
        code, message = ledger.verify_command(session, expect_head=expect_head, given=given)
    typer.echo(message, err=code != 0)
    raise typer.Exit(code)


@ledger_app.command("verify")
def verify_cmd(
    expect_head: Annotated[str | None, typer.Option(help="a previously published head hash")] = None,
    checkpoint: Annotated[list[Path] | None, typer.Option(
        help="a signed checkpoint note kept by a witness (repeatable)")] = None,
    evidence: Annotated[list[Path] | None, typer.Option(
        help="an evidence zip made earlier: the ledger must still agree with its checkpoints (repeatable)")] = None,
) -> None:
    """Check the chain, the Merkle tree and every checkpoint (stored and given); exit 1 on any alteration."""
    verify(expect_head, checkpoint or [], evidence or [])


@ledger_app.command("keygen")
def keygen(path: Annotated[Path, typer.Argument(help="where to write the new Ed25519 key (PEM, mode 0600)")]) -> None:
    """Make a checkpoint signing key; prints its verifier key to publish (the file is never overwritten)."""
    from cryptography.hazmat.primitives import serialization

    from config.settings import get_settings
    from ledger.note import verifier
    from ledger.signing import write_key

    try:
        key = write_key(path)
    except FileExistsError:
        raise _fail(f"{path} exists: a signing key is never overwritten") from None
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    typer.echo(verifier(get_settings().ledger_origin, raw).text)


@ledger_app.command("keys")
def keys() -> None:
    """Print the verifier keys of this log (current first, then rotated-out ones)."""
    from ledger.signing import SigningKeyError, verifiers

    try:
        for v in verifiers():
            typer.echo(v.text)
    except SigningKeyError as exc:
        raise _fail(str(exc), 1) from None


@ledger_app.command("checkpoint")
def checkpoint_cmd() -> None:
    """Sign a checkpoint of the ledger now and try to time-stamp it; prints the signed note."""
    from sqlmodel import Session

    from api.dbcli import init_db
    from config import clock
    from config.db import get_engine
    from ledger import checkpoints

    init_db()
    with Session(get_engine()) as session:
        try:
            cp = checkpoints.make(session, reason="manual", now=clock.now(), force=True)
            session.commit()
            stamped = checkpoints.stamp(session, cp)
            session.commit()
        except checkpoints.LedgerError as exc:
            raise _fail(str(exc), 1) from None
        typer.echo(cp.note, nl=False)
        typer.echo(f"(checkpoint #{cp.id}; {'time-stamped' if stamped else 'not time-stamped: ' + str(cp.tsa_error)})",
                   err=True)


@ledger_app.command("rebuild-tree")
def rebuild_tree() -> None:
    """Recompute the Merkle tree's nodes from the entries (a repair; checkpoints still judge the result)."""
    from sqlmodel import Session

    from api.dbcli import init_db
    from config.db import get_engine
    from ledger import tree

    init_db()
    with Session(get_engine()) as session:
        count = tree.rebuild(session)
        session.commit()
    typer.echo(f"Merkle tree rebuilt over {count} entries")


def verify_evidence(
    file: Annotated[Path, typer.Argument(help="an evidence zip (GET /api/projects/{code}/evidence.zip)")],
    key: Annotated[list[str] | None, typer.Option(
        help="the centre's published verifier key name+hash+key (repeatable); default: the zip's own")] = None,
    tsa_ca: Annotated[Path | None, typer.Option(help="the TSA's CA certificates (PEM); default: the zip's")] = None,
) -> None:
    """Check an evidence zip offline (no database, no network) and replay its draws; exit 1 on any problem."""
    from audit.offline import verify_zip

    report = verify_zip(_read(file), keys=key or [], tsa_ca=_read(tsa_ca) if tsa_ca else None)
    for line in report.notes:
        typer.echo(f"  · {line}")
    if report.ok:
        typer.echo(f"Evidence OK: {report.entries} ledger entries, every file, signature, time-stamp and proof checks.")
        raise typer.Exit(0)
    for line in report.problems:
        typer.echo(f"  ✗ {line}", err=True)
    typer.echo(f"Evidence FAILED: {len(report.problems)} problem(s).", err=True)
    raise typer.Exit(1)
