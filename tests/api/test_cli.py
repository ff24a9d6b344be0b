"""The `yidi` command line as a user runs it: real processes, real files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checker import check
from tests.factories_instance import tiny_day

YIDI = [sys.executable, "-m", "api.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*YIDI, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture()
def instance_file(tmp_path: Path) -> Path:
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(tiny_day()[0], ensure_ascii=False), encoding="utf-8")
    return path


def test_draw_then_replay_and_tamper(instance_file: Path, tmp_path: Path) -> None:
    out = run("draw", str(instance_file), "--seed", "c0ffee")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert check(json.loads(instance_file.read_text()), result) == []
    again = run("draw", str(instance_file), "--seed", "c0ffee")
    assert again.stdout == out.stdout, "a replay must print a byte-identical result"
    res = tmp_path / "result.json"
    res.write_text(out.stdout, encoding="utf-8")
    ok = run("replay", str(instance_file), str(res))
    assert ok.returncode == 0 and "OK" in ok.stdout
    tampered = dict(result)
    tampered["projects"] = [dict(result["projects"][0], seats=result["projects"][0]["seats"][::-1][:-1])]
    res.write_text(json.dumps(tampered), encoding="utf-8")
    bad = run("replay", str(instance_file), str(res))
    assert bad.returncode == 1 and "MISMATCH" in bad.stderr
    wrong_seed = dict(result, seed="00")
    res.write_text(json.dumps(wrong_seed), encoding="utf-8")
    assert "commitment" in run("replay", str(instance_file), str(res)).stderr


def test_repeat_prints_json_lines_with_derived_seeds(instance_file: Path) -> None:
    out = run("draw", str(instance_file), "--seed", "abcd", "--repeat", "3")
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, start=1):
        doc = json.loads(line)
        assert doc["seed"] == hashlib.sha256(bytes.fromhex("abcd") + f":{i}".encode()).hexdigest()
        assert doc["seed_sha256"] == hashlib.sha256(bytes.fromhex(doc["seed"])).hexdigest()


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["experts"][3].pop("birth_date"), "$.experts[3].birth_date"),
        (lambda d: d["projects"][0].update(main_site="NOWHERE"), "$.projects[0].main_site"),
        (lambda d: d["experts"].append(dict(d["experts"][0])), "$.experts[15].id"),
        (lambda d: d["projects"][0]["needs"][0].update(count="three"), "$.projects[0].needs[0].count"),
        (lambda d: d["experts"][0]["specialties"].append("a1"), "$.experts[0].specialties[1]"),
        (lambda d: d.update(rules={"max_travel_km": -5}), "$.rules.max_travel_km"),
        (lambda d: d["history"][0]["experts"].append("E99"), "$.history[0].experts[2]"),
    ],
)
def test_bad_instance_is_one_line_naming_the_path(tmp_path: Path, mutate, path: str) -> None:  # type: ignore[no-untyped-def]
    doc = tiny_day()[0]
    mutate(doc)
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    out = run("draw", str(f), "--seed", "01")
    assert out.returncode == 2
    assert out.stdout == ""
    assert path in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text("{not json", encoding="utf-8")
    out = run("draw", str(f), "--seed", "01")
    assert out.returncode == 2 and "not valid JSON" in out.stderr and "Traceback" not in out.stderr
    out = run("draw", str(tmp_path / "missing.json"), "--seed", "01")
    assert out.returncode == 2 and "not found" in out.stderr


def test_export_import_round_trip_and_audit(instance_file: Path, tmp_path: Path) -> None:
    env = {"YIDI_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    assert run("import", str(instance_file), env=env).returncode == 0
    out = run("export", env=env)
    assert out.returncode == 0
    exported = json.loads(out.stdout)
    assert {e["id"] for e in exported["experts"]} == {e["id"] for e in tiny_day()[0]["experts"]}
    # The export is itself a valid instance that draws.
    f = tmp_path / "exported.json"
    f.write_text(out.stdout, encoding="utf-8")
    drawn = run("draw", str(f), "--seed", "01")
    assert drawn.returncode == 0 and check(exported, json.loads(drawn.stdout)) == []
    verify = run("audit", "verify", env=env)
    assert verify.returncode == 0 and "OK" in verify.stdout


def test_stats_reports_inclusion_and_entropy(instance_file: Path) -> None:
    out = run("stats", str(instance_file), "--seed", "01", "--draws", "40")
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)["projects"][0]
    assert rep["drawn"] == 40 and rep["entropy_bits"] > 0
    for need in rep["needs"]:
        assert 0 < need["max_inclusion_estimated"] <= 1 and need["eligible"] >= need["count"]


def test_effort_limits_come_from_settings_and_travel_with_the_result(instance_file: Path, tmp_path: Path) -> None:
    out = run("draw", str(instance_file), "--seed", "beef", env={"YIDI_DRAW_MAX_PROPOSALS": "1000",
                                                                  "YIDI_DRAW_BATCH_SIZE": "16"})
    result = json.loads(out.stdout)
    assert result["limits"]["max_proposals"] == 1000 and result["limits"]["batch"] == 16
    res = tmp_path / "result.json"
    res.write_text(out.stdout, encoding="utf-8")
    # Replayed under the default settings: the recorded limits, not the local ones, are used (D3).
    assert run("replay", str(instance_file), str(res)).returncode == 0


def test_seal_key_prints_a_usable_key() -> None:
    import base64

    out = run("seal-key")
    assert out.returncode == 0 and len(base64.b64decode(out.stdout.strip())) == 32


def test_ledger_key_checkpoint_and_offline_evidence(tmp_path: Path) -> None:
    env = {"YIDI_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
           "YIDI_LEDGER_SIGNING_KEY_FILE": str(tmp_path / "key.pem"), "YIDI_LEDGER_SIGNING_KEY_CREATE": "false"}
    missing = run("ledger", "checkpoint", env=env)
    assert missing.returncode != 0 and "yidi ledger keygen" in missing.stderr and "Traceback" not in missing.stderr
    made = run("ledger", "keygen", str(tmp_path / "key.pem"), env=env)
    assert made.returncode == 0 and made.stdout.startswith("yidi.local/ledger+")
    assert oct((tmp_path / "key.pem").stat().st_mode & 0o777) == "0o600"
    again = run("ledger", "keygen", str(tmp_path / "key.pem"), env=env)
    assert again.returncode != 0 and "never overwritten" in again.stderr
    assert run("ledger", "keys", env=env).stdout == made.stdout
    signed = run("ledger", "checkpoint", env=env)
    assert signed.returncode == 0 and signed.stdout.startswith("yidi.local/ledger\n0\n"), signed.stderr
    witness = tmp_path / "witness.txt"
    witness.write_text(signed.stdout, encoding="utf-8")
    ok = run("ledger", "verify", "--checkpoint", str(witness), env=env)
    assert ok.returncode == 0 and "Audit ledger OK" in ok.stdout
    forged = tmp_path / "forged.txt"
    forged.write_text(signed.stdout.replace("\n0\n", "\n7\n"), encoding="utf-8")
    bad = run("ledger", "verify", "--checkpoint", str(forged), env=env)
    assert bad.returncode == 1 and "does not verify" in bad.stderr
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    offline = run("verify-evidence", str(junk))
    assert offline.returncode == 1 and "not a zip file" in offline.stderr
