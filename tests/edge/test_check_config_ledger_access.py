"""A ledger the daemon's user cannot write (its folder, or a file left behind by root) stops the
daemon with the user and the `chown` to run, and is a warning of check-config; never a
traceback, and never "damaged: restore it from a backup" for a healthy file. A configuration
file it cannot read is named with the `chgrp` and `chmod` that let it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Root may write anything: the daemon is run as `nobody` to meet the permissions a service
# user meets.
AS_SERVICE_USER = (
    ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
)
USER = "nobody" if os.geteuid() == 0 else None


def _service_user_reaches_checkout() -> bool:
    """Whether `nobody` can run this checkout's code (not in a clone under root's own 0700
    home, as a fresh machine's root may make it)."""
    if not AS_SERVICE_USER:
        return True
    probe = [*AS_SERVICE_USER, sys.executable, "-c", "import edge.cli.main"]
    return subprocess.run(probe, cwd=ROOT, capture_output=True, check=False).returncode == 0


as_service_user = pytest.mark.skipif(
    not _service_user_reaches_checkout(),
    reason="the service user (nobody) cannot read this checkout: clone it where others may",
)


def rxedge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AS_SERVICE_USER, sys.executable, "-m", "edge.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def configured(place: Path, db: Path) -> Path:
    config = place / "gateway.toml"
    config.write_text(f'site = "s1"\ngateway = "g1"\ndatabase = "{db}"\n[metrics]\nlisten = ""\n')
    config.chmod(0o644)
    return config


def make_ledger(db: Path) -> None:
    from inventory.ledger.store import connect

    connect(db).close()


@as_service_user
def test_a_ledger_folder_the_daemon_cannot_write_is_named_with_the_fix(place: Path) -> None:
    folder = place / "ledger"
    folder.mkdir(mode=0o555)
    config = configured(place, folder / "ledger.sqlite")
    run = rxedge("run", "--init", "--config", str(config))
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert f"database: folder {folder} cannot be written by user" in run.stderr
    assert f"chown nobody:nogroup {folder};" in run.stderr if USER else "chown" in run.stderr
    assert "a folder of its own" in run.stderr
    check = rxedge("check-config", str(config))
    assert check.returncode == 0
    assert f"warning: database: folder {folder} cannot be written" in check.stderr


@as_service_user
def test_a_ledger_file_the_daemon_cannot_write_is_not_called_damaged(place: Path) -> None:
    folder = place / "ledger"
    folder.mkdir()
    db = folder / "ledger.sqlite"
    make_ledger(db)
    db.chmod(0o444)  # e.g. restored as root with cp
    if USER is not None:
        shutil.chown(folder, USER)
    config = configured(place, db)
    run = rxedge("run", "--config", str(config))
    assert run.returncode == 2, run.stderr
    assert "damaged" not in run.stderr and "Traceback" not in run.stderr
    assert f"database: {db} cannot be written by user" in run.stderr
    assert "chown" in run.stderr and f"{db}*" in run.stderr


@as_service_user
@pytest.mark.skipif(USER is None, reason="needs root to leave a file another user cannot write")
@pytest.mark.parametrize("left", ["ledger.sqlite.lock", "ledger.sqlite.actions"])
def test_a_file_left_by_root_beside_the_ledger_is_named_with_the_fix(
    place: Path, left: str
) -> None:
    """`rxedge run --init` run as root (not as the service user) leaves the ledger's lock file
    and its file of held actions root's: the service's start names them and the chown, and
    check-config warns."""
    folder = place / "ledger"
    folder.mkdir()
    db = folder / "ledger.sqlite"
    make_ledger(db)
    shutil.chown(folder, USER)
    for file in folder.iterdir():
        shutil.chown(file, USER)
    lock = folder / left
    lock.write_text("1\n")
    lock.chmod(0o640)  # root's, as a run by root leaves it
    config = configured(place, db)
    run = rxedge("run", "--config", str(config))
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert f"database: {lock} cannot be written by user nobody" in run.stderr
    assert f"chown nobody:nogroup {db}*" in run.stderr
    check = rxedge("check-config", str(config))
    assert check.returncode == 0
    assert f"warning: database: {lock} cannot be written" in check.stderr


@as_service_user
@pytest.mark.skipif(USER is None, reason="needs root to keep a file from another user")
def test_a_configuration_the_daemon_cannot_read_is_named_with_the_group_to_give_it(
    place: Path,
) -> None:
    """Installed by root with its default mode (0600) instead of root:rxedge 0640."""
    config = configured(place, place / "ledger.sqlite")
    config.chmod(0o600)
    for command in (["check-config", str(config)], ["run", "--config", str(config)]):
        result = rxedge(*command)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert (
            "cannot be read by user nobody (permission denied); if nobody runs the "
            f"daemon, let its group read the file, as root: chgrp nogroup {config}; chmod 0640 "
            f"{config}"
        ) in result.stderr


@as_service_user
@pytest.mark.skipif(USER is None, reason="needs root to keep a file from another user")
def test_a_web_accounts_file_the_page_cannot_read_is_named_with_the_group_to_give_it(
    place: Path,
) -> None:
    """Copied into place by root (mode 0600) instead of root:rxedge 0640: check-config warns
    with the fix, and the page's refusal of every login names the group it runs in, not one
    it supposes."""
    users = place / "web-users.json"
    users.write_text('{"users": {}}\n')
    users.chmod(0o600)
    config = configured(place, place / "ledger.sqlite")
    config.write_text(config.read_text() + f'[web]\nusers_file = "{users}"\n')
    check = rxedge("check-config", str(config))
    assert check.returncode == 0, check.stderr
    assert (
        f"warning: web.users_file: {users} cannot be read by user nobody (permission denied); "
        f"if nobody runs the daemon, let its group read the file, as root: chgrp nogroup "
        f"{users}; chmod 0640 {users}"
    ) in check.stderr
    login = (
        "import sys; from pathlib import Path; from edge.web.accounts import Accounts, "
        "AccountError\ntry:\n    Accounts(Path(sys.argv[1])).users()\n"
        "except AccountError as exc:\n    print(exc)"
    )
    said = subprocess.run(
        [*AS_SERVICE_USER, sys.executable, "-c", login, str(users)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    assert said.startswith(f"the accounts file {users} cannot be read (Permission denied)"), said
    assert "user nobody, group nogroup" in said and f"chgrp nogroup {users};" in said, said
    assert "chgrp rxedge" not in said, said


def _private_mounts() -> bool:
    """Whether this process may mount file systems in a mount namespace of its own."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _private_mounts(), reason="needs root and unshare to mount read-only")
def test_a_ledger_on_a_read_only_file_system_is_named_as_such_not_as_ownership(
    place: Path,
) -> None:
    """An SD card remounted read-only after errors (or a path the service's sandbox keeps
    read-only): chown cannot help, so the message must not offer it."""
    mount = place / "card"
    mount.mkdir()
    db = mount / "ledger.sqlite"
    config = configured(place, db)
    rxedge_cli = f"{sys.executable} -m edge.cli.main"
    script = (
        f"mount -t tmpfs -o size=4m tmpfs {mount} && "
        f'{sys.executable} -c "from inventory.ledger.store import connect; '
        f"connect('{db}').close()\" && "
        f"mount -o remount,ro {mount} && "
        f"{rxedge_cli} check-config {config}; "
        f"echo check=$?; {rxedge_cli} run --config {config}; echo run=$?"
    )
    found = in_private_mounts(script)
    said = found.stderr
    assert "check=0" in found.stdout and "run=2" in found.stdout, found.stdout + said
    assert "Traceback" not in said and "chown" not in said, said
    assert f"database: {mount} is on a file system mounted read-only" in said
    assert "dmesg" in said and "/var/lib/rxedge" in said


@pytest.mark.skipif(not _private_mounts(), reason="needs root and unshare to fill a file system")
@pytest.mark.parametrize("version", [9, None], ids=["to migrate", "current"])
def test_a_ledger_on_a_full_file_system_is_named_as_such_and_its_start_is_retried(
    place: Path, version: int | None
) -> None:
    """A full disk at start (a migration to write, or only the shared-memory file to make):
    the ledger is whole, so the message says the disk is full, never to restore a backup, and
    the daemon exits 75, which the unit restarts (2 it would leave failed for good)."""
    mount = place / "card"
    mount.mkdir()
    db = mount / "ledger.sqlite"
    config = configured(place, db)
    make = (
        f"from tests.inventory.test_store import file_at_version; file_at_version(Path('{db}'), "
        f"{version})"
        if version
        else f"from inventory.ledger.store import connect; connect('{db}').close()"
    )
    script = (
        f"mount -t tmpfs -o size=1m tmpfs {mount} && "
        f'{sys.executable} -c "from pathlib import Path; {make}" && '
        f"(dd if=/dev/zero of={mount}/filler bs=4k 2>/dev/null; true) && "
        f"{sys.executable} -m edge.cli.main run --config {config}; echo run=$?"
    )
    found = in_private_mounts(script)
    said = found.stderr
    assert "run=75" in found.stdout, found.stdout + said
    assert "Traceback" not in said and "restore it from a backup" not in said, said
    assert f"ledger {db} cannot be opened: the file system holding it is full" in said
    assert "the file is not damaged: make room" in said
    assert f"df -h {mount}" in said
    assert "the service is started again by itself" in said


def in_private_mounts(script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a mount namespace of its own (its mounts vanish with it)."""
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
