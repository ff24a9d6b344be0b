"""The `yidi` command line: draw, replay, export/import, audit, demo data and the service."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from api.ledger_cli import ledger_app, verify_evidence

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Yidi 异地 — remote cross-region evaluation.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident operation ledger.")
db_app = typer.Typer(no_args_is_help=True, help="Database set-up.")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.command("verify-evidence")(verify_evidence)
face_app = typer.Typer(no_args_is_help=True, help="Face identity (1:1 verification).")
app.add_typer(face_app, name="face")
logger = logging.getLogger(__name__)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"yidi: error: {message}", err=True)
    raise typer.Exit(code)


def _load(path: Path) -> tuple[dict[str, Any], Any]:
    from scheduler.exceptions import InstanceError
    from scheduler.instance import load_instance_file

    try:
        return load_instance_file(str(path))
    except InstanceError as exc:
        _fail(f"{path}: {exc}")


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="project", file=sys.stderr, leave=False)


@app.command()
def draw(
    instance: Annotated[Path, typer.Argument(help="draw-instance/1 JSON file")],
    seed: Annotated[str, typer.Option(help="seed, hexadecimal (its SHA-256 is the published commitment)")],
    repeat: Annotated[int | None, typer.Option(min=1, help="draw N times; the i-th (i = 1..N) uses seed "
                                        "SHA-256(bytes(SEED) ‖ ':' ‖ str(i)), printed as JSON Lines")] = None,
    progress: Annotated[bool | None, typer.Option(help="progress bar on stderr (default: when a tty)")] = None,
) -> None:
    """Draw the committees of every project in INSTANCE and print a draw-result/1 document."""
    from scheduler.draw import derived_seed, draw_parsed, dumps_result
    from scheduler.exceptions import InstanceError

    doc, inst = _load(instance)
    show = sys.stderr.isatty() if progress is None else progress
    _seed_ok(seed)
    seeds = [seed] if not repeat else [derived_seed(seed, i) for i in range(1, repeat + 1)]
    for s in seeds:
        bar = _progress(len(inst.projects), show)
        try:
            result = draw_parsed(doc, inst, s, progress=bar.update if bar else None)
        except InstanceError as exc:
            _fail(str(exc))
        finally:
            if bar:
                bar.close()
        typer.echo(dumps_result(result, compact=bool(repeat)))


def _seed_ok(seed: str) -> bool:
    from scheduler.draw import parse_seed
    from scheduler.exceptions import InstanceError

    try:
        parse_seed(seed)
    except InstanceError as exc:
        _fail(f"--{exc}")
    return True


@app.command()
def stats(
    instance: Annotated[Path, typer.Argument(help="draw-instance/1 JSON file")],
    seed: Annotated[str, typer.Option(help="base seed, hexadecimal; draw i uses the --repeat derivation")],
    draws: Annotated[int, typer.Option(min=2, help="number of seeded draws")] = 200,
    progress: Annotated[bool | None, typer.Option(help="progress bar on stderr")] = None,
) -> None:
    """Randomness measures: inclusion probabilities, predictability and entropy over repeated draws."""
    from scheduler.stats import randomness_report

    doc, inst = _load(instance)
    _seed_ok(seed)
    show = sys.stderr.isatty() if progress is None else progress
    bar = _progress(draws, show)
    try:
        report = randomness_report(doc, inst, seed, draws, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))


@app.command()
def replay(
    instance: Annotated[Path, typer.Argument(help="the draw-instance/1 the result claims to come from")],
    result: Annotated[Path, typer.Argument(help="a draw-result/1 with its revealed seed")],
) -> None:
    """Exit 0 only if RESULT is exactly what INSTANCE and the revealed seed produce (D3)."""
    from scheduler.replay import replay_check

    doc, inst = _load(instance)
    try:
        claimed = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{result}: cannot read a JSON result ({exc})")
    ok, message = replay_check(doc, inst, claimed)
    typer.echo(message, err=not ok)
    raise typer.Exit(0 if ok else 1)


@app.command("export")
def export_cmd(
    out: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
    projects: Annotated[str | None, typer.Option(help="comma-separated project codes (default: all)")] = None,
    with_drawn: Annotated[bool, typer.Option(
        "--with-drawn", help="add the other projects' drawn committees as the draw sees them (names sealed "
        "committees: for replaying a draw after the evaluations)")] = False,
) -> None:
    """Export the database state as a draw-instance/1 document."""
    from api.dbcli import export_db

    text = export_db(projects.split(",") if projects else None, with_drawn=with_drawn)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text)


@app.command("import")
def import_cmd(instance: Annotated[Path, typer.Argument(help="draw-instance/1 JSON file")]) -> None:
    """Import (upsert) a draw-instance/1 document into the database."""
    from api.dbcli import import_db

    doc, _ = _load(instance)
    typer.echo(import_db(doc))


@db_app.command("init")
def db_init() -> None:
    """Create the database schema."""
    from api.dbcli import init_db

    typer.echo(init_db())


@app.command("seal-key")
def seal_key() -> None:
    """Print a new random AES-256-GCM key (base64) for YIDI_SEAL_KEY."""
    from config.sealing import generate_key_b64

    typer.echo(generate_key_b64())


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[str | None, typer.Option(help="a previously published head hash")] = None,
) -> None:
    """Check the ledger (as `yidi ledger verify`); exit 1 on any edited, deleted or reordered entry."""
    from api.ledger_cli import verify

    verify(expect_head, [], [])


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(help="write the instance JSON here instead of loading it")] = None,
    experts: Annotated[int, typer.Option(min=10)] = 20_000,
    projects: Annotated[int, typer.Option(min=1)] = 150,
    seed: Annotated[int, typer.Option()] = 2026,
) -> None:
    """Generate a realistic demo province (Shandong + partners) and load it or write it out."""
    from api.demo_data import generate

    doc = generate(seed=seed, experts=experts, projects=projects)
    if out:
        out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        typer.echo(f"wrote {out}: {len(doc['experts'])} experts, {len(doc['projects'])} projects")
        return
    from api.dbcli import import_db, init_db

    init_db()
    typer.echo(import_db(doc))


@app.command()
def serve(
    demo_data: Annotated[bool, typer.Option("--demo", help="load demo data first if the database is empty")] = False,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP service (uvicorn)."""
    import uvicorn

    from api.dbcli import ensure_demo, init_db
    from config.settings import get_settings

    settings = get_settings()
    init_db()
    if demo_data:
        typer.echo(ensure_demo())
    uvicorn.run("api.main:create_app", factory=True, host=host or settings.host, port=port or settings.port)


@app.command("janus-config")
def janus_config(
    folder: Annotated[Path, typer.Argument(help="folder to write janus.jcfg and its plugin files into")],
    http_port: Annotated[int, typer.Option(help="port of Janus's REST API (YIDI_SFU_JANUS_URL)")] = 8088,
    rtp_ports: Annotated[str, typer.Option(help="UDP ports for media, MIN-MAX")] = "20000-40000",
) -> None:
    """Write the Janus configuration the SFU back end needs (admin key from YIDI_SFU_ADMIN_KEY)."""
    from config.settings import get_settings
    from sfu.janus_conf import write_config

    low, _, high = rtp_ports.partition("-")
    if not (low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 65535):
        _fail(f"--rtp-ports: give MIN-MAX within 1024-65535, not {rtp_ports!r}")
    settings = get_settings()
    key = settings.sfu_admin_key.get_secret_value()
    if not key:
        _fail("YIDI_SFU_ADMIN_KEY is empty: set a long random key, the same for the service and Janus")
    config = write_config(folder.resolve(), http_port=http_port, admin_key=key, rtp_ports=(int(low), int(high)),
                          no_media_seconds=max(1, round(settings.webrtc_stream_stopped_seconds)))
    typer.echo(f"wrote {config.parent}; run: janus -F {config.parent} -C {config}")


def main() -> None:
    """Console-script entry point."""
    app()




@face_app.command("compare")
def face_compare(
    first: Annotated[Path, typer.Argument(help="first photo")],
    second: Annotated[Path, typer.Argument(help="second photo")],
) -> None:
    """Compare the single faces of two photos with the service's settings; print {"distance", "match"}."""
    from config.settings import get_settings
    from experts.identity import FaceError, compare, encode_image

    settings = get_settings()
    encodings = []
    for path in (first, second):
        try:
            data = path.read_bytes()
        except OSError as exc:
            _fail(f"{path}: cannot read the file ({exc.strerror or exc})")
        try:
            encodings.append(encode_image(data, settings=settings))
        except FaceError as exc:
            _fail(f"{path}: {exc}")
    result = compare(encodings[0], encodings[1], tolerance=settings.face_tolerance)
    typer.echo(json.dumps({"distance": round(result.distance, 6), "match": result.match}))


@app.command()
def messages(
    check: Annotated[bool, typer.Option(help="write nothing; exit 1 when a key lacks an entry or a text")] = False,
) -> None:
    """Extract the console's message keys (Babel), write api/locale/messages.pot, add new keys to the catalogues."""
    from api.i18n_catalogue import update

    report = update(write=not check)
    for key in report.added:
        typer.echo(f"new key (untranslated): {key}")
    for lang, keys in report.untranslated.items():
        for key in keys:
            typer.echo(f"untranslated in {lang}: {key}")
    if check and (report.added or any(report.untranslated.values())):
        raise typer.Exit(1)


if __name__ == "__main__":
    main()
