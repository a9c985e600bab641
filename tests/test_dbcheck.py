"""Commands on a database that is not ready (greenlight/dbcheck.py), as real ``manage.py`` processes: one that
cannot be reached, one never migrated, one a migration behind, one a migration ahead. Each command that reads
or writes the models stops at once with a CommandError naming the database and what to do (exit status 1, no
traceback); doctor reports it as its first check; a migrated database runs the commands as before."""
from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from tests.chaosdb import manage, throwaway_database

#: A sample of the commands that need the schema, from both apps.
COMMANDS = (("bench_dedup",), ("bench_warehouse", "--rows", "10"), ("flags",), ("sync",))
MIGRATE = "run `manage.py migrate`"
#: Records a migration of the sync app that no code here has, as a later release's migrate would.
RECORD_LATER = ("from django.db import connection; "
                "from django.db.migrations.recorder import MigrationRecorder; "
                "MigrationRecorder(connection).record_applied('sync', '0099_from_a_later_release')")


def run_all(url: str, *commands: tuple[str, ...]) -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """Each command in its own process, side by side (each process is a second or two of start-up)."""
    with ThreadPoolExecutor(len(commands)) as pool:
        results = pool.map(lambda args: manage(url, *args, timeout=300), commands)
        return dict(zip(commands, results, strict=True))


def refusal(result: subprocess.CompletedProcess) -> str:
    """The CommandError line of a command that stopped cleanly."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_a_database_never_migrated_is_named_with_the_command_to_run(tmp_path):
    path = tmp_path / "never_migrated.sqlite3"
    defaults = ("bench_dedup", "--defaults", "--duplicates", "3", "--different", "3")
    results = run_all(f"sqlite:///{path}", *COMMANDS, ("doctor",), defaults)
    expected = re.compile(rf"CommandError: the database \(sqlite {re.escape(str(path))}\) has no schema yet: "
                          r"\d+ unapplied migrations, the first contenttypes\.0001_initial; "
                          + re.escape(MIGRATE))
    for command in COMMANDS:
        assert expected.fullmatch(refusal(results[command])), command
    doctor = results[("doctor",)]
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr, doctor.stderr
    assert doctor.stdout.startswith(f"FAIL  database: the database (sqlite {path}) has no schema yet: ")
    assert "(the other checks need it: not run)" in doctor.stdout
    # With the flags' defaults the dedup benchmark reads no table, so it still runs.
    assert results[defaults].returncode == 0, results[defaults].stderr
    assert "labelled pairs      6" in results[defaults].stdout


def test_a_database_that_does_not_exist_is_named_with_createdb():
    url = "postgres://postgres:never-shown-pw@127.0.0.1:5432/greenlight_dbcheck_no_such_db"
    results = run_all(url, *COMMANDS, ("doctor",), ("demo", "--no-serve"))
    named = ("cannot reach the database (postgresql greenlight_dbcheck_no_such_db on 127.0.0.1) "
             "(create it first, e.g. createdb): ")
    for command in (*COMMANDS, ("demo", "--no-serve")):
        line = refusal(results[command])
        assert line.startswith(f"CommandError: {named}"), line
        assert 'database "greenlight_dbcheck_no_such_db" does not exist' in line
    doctor = results[("doctor",)]
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr, doctor.stderr
    assert doctor.stdout.startswith(f"FAIL  database: {named}")
    for result in results.values():
        assert "never-shown-pw" not in result.stdout + result.stderr


def test_a_database_a_migration_behind_says_which_and_a_migrated_one_runs(tmp_path):
    with throwaway_database(tmp_path, "dbcheck") as url:
        migrated = manage(url, "migrate", "--no-input")
        assert migrated.returncode == 0, migrated.stderr
        dedup = ("bench_dedup", "--duplicates", "3", "--different", "3")
        ran = run_all(url, ("flags",), dedup)
        for result in ran.values():
            assert result.returncode == 0, result.stderr
        assert "DRY_RUN = true (default)" in ran[("flags",)].stdout
        assert "labelled pairs      6" in ran[dedup].stdout

        rolled_back = manage(url, "migrate", "sync", "0013")
        assert "Unapplying sync.0014_freshness... OK" in rolled_back.stdout, rolled_back.stderr
        results = run_all(url, *COMMANDS, ("doctor", "--json"))
        for command in COMMANDS:
            line = refusal(results[command])
            assert line.startswith("CommandError: the database ("), line
            assert line.endswith(f"is behind the code: 1 unapplied migration, the first sync.0014_freshness; "
                                 f"{MIGRATE}"), line
        doctor = results[("doctor", "--json")]
        assert doctor.returncode == 1, doctor.stderr
        report = json.loads(doctor.stdout)
        assert report["ok"] is False and [c["name"] for c in report["checks"]] == ["database"]
        assert "1 unapplied migration, the first sync.0014_freshness" in report["checks"][0]["message"]

        # What the message says to do is enough.
        assert manage(url, "migrate", "--no-input").returncode == 0
        after = manage(url, "flags")
        assert after.returncode == 0 and "DRY_RUN = true (default)" in after.stdout, after.stderr

        # A later release's migration applied (the code was rolled back without it): the code is too old
        # for the schema, and says so rather than writing through models that no longer match.
        later = manage(url, "shell", "-c", RECORD_LATER)
        assert later.returncode == 0, later.stderr
        results = run_all(url, ("flags",), ("sync",), ("doctor", "--json"))
        for command in (("flags",), ("sync",)):
            line = refusal(results[command])
            assert line.endswith("is ahead of the code: 1 applied migration this code lacks, the latest "
                                 "sync.0099_from_a_later_release; run the code that has them, or migrate "
                                 "back to this code's migrations with that code first"), line
        report = json.loads(results[("doctor", "--json")].stdout)
        assert report["ok"] is False and "is ahead of the code" in report["checks"][0]["message"]
