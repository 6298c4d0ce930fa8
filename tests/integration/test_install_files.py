"""The install files: the systemd units pass ``systemd-analyze verify`` and ``security``, say
what the install needs and comment every hardening line; the cron job, run by ``sh``, hands
the passwords of its environment file to organiser."""

from __future__ import annotations

import codecs
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from organiser.config import credential_name, env_name, load

pytestmark = pytest.mark.slow  # systemd-analyze and the shell scripts, as processes

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "systemd"
CRON = REPO / "jobs" / "organiser.cron"
UNIT_NAMES = [
    "organiser.service",
    "organiser-run.service",
    "organiser-run.timer",
    "organiser-api.service",
]
SERVICES = ["organiser.service", "organiser-run.service", "organiser-api.service"]
#: The credentials each service loads: the API never talks to DataCite, so it has no password.
CREDENTIALS = {
    "organiser.service": ["datacite", "email"],
    "organiser-run.service": ["datacite", "email"],
    "organiser-api.service": ["email"],
}
#: The credentials that may be missing: SetCredential= gives their default.
OPTIONAL = {"email"}
#: systemd-analyze security's exposure (0.0 locked down .. 10.0 unprotected) each service
#: must stay at or under.
EXPOSURE = 1.2
#: The watchdog of each service (none for the one-shot run).
WATCHDOG = {
    "organiser.service": "60s",
    "organiser-api.service": "30s",
    "organiser-run.service": None,
}
#: Where the units expect organiser (the install steps put a venv at /opt/organiser).
INSTALLED = "/opt/organiser/bin/organiser"
ORGANISER = Path(sys.executable).with_name("organiser")
PASSES = ["--update-all", "--reserve-all", "--register-all", "--delete-all", "--quiet"]
#: Settings that only restrict the service; each needs a comment just above saying when to
#: relax it.
HARDENING = {
    "NoNewPrivileges",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateNetwork",
    "PrivateUsers",
    "PrivateMounts",
    "PrivateIPC",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "ProtectProc",
    "ProcSubset",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "RestrictFileSystems",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallErrorNumber",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "DevicePolicy",
    "DeviceAllow",
    "IPAddressDeny",
    "IPAddressAllow",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "RemoveIPC",
    "KeyringMode",
    "UMask",
}
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian: apt-get install systemd; "
    "scripts/test installs it when run as root)",
)


# --- systemd units ---------------------------------------------------------------------------


def settings(text: str) -> list[tuple[int, str, str, str]]:
    """Give ``(line index, section, key, value)`` of each setting of a unit file, in order
    (keys may repeat, so no configparser)."""
    found, section = [], ""
    for index, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            section = stripped.strip("[]")
            continue
        key, _, value = stripped.partition("=")
        found.append((index, section, key.strip(), value.strip()))
    return found


def values(name: str, section: str, key: str) -> list[str]:
    """Give every value of ``[section] key`` in the unit ``name``."""
    text = (SYSTEMD / name).read_text(encoding="utf-8")
    return [v for _, s, k, v in settings(text) if (s, k) == (section, key)]


def uncommented_hardening(text: str) -> list[str]:
    """Give the hardening lines of a unit that have no comment on the line just above."""
    lines = text.splitlines()
    return [
        lines[index]
        for index, section, key, _ in settings(text)
        if section == "Service"
        and key in HARDENING
        and (index == 0 or not lines[index - 1].lstrip().startswith("#"))
    ]


def copy_for_verify(name: str, directory: Path, text: str | None = None) -> Path:
    """Copy the unit ``name`` (or ``text``) to ``directory`` with the organiser of this venv in
    place of /opt/organiser's, so that verify finds its ExecStart= binary; and a stand-in
    for /bin/kill (procps) on machines without it."""
    if text is None:
        text = (SYSTEMD / name).read_text(encoding="utf-8")
    organiser = str(ORGANISER)
    if " " in organiser:
        organiser = f'"{organiser}"'
    text = text.replace(INSTALLED, organiser)
    if not os.access("/bin/kill", os.X_OK):
        kill = directory / "kill"
        kill.write_text("#!/bin/sh\n", encoding="utf-8")
        kill.chmod(0o755)
        text = text.replace("ExecReload=/bin/kill ", f"ExecReload={kill} ")
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def analyze(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``systemd-analyze`` (no systemd as PID 1 needed) and give its result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYSTEMD_")}
    return subprocess.run(
        [str(SYSTEMD_ANALYZE), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def complaints(result: subprocess.CompletedProcess[str], names: list[str]) -> list[str]:
    """Give the lines of verify's output that are about the units ``names``."""
    output = result.stdout + result.stderr
    return [line for line in output.splitlines() if any(n in line for n in names)]


def test_the_units_are_there() -> None:
    assert sorted(p.name for p in SYSTEMD.iterdir() if p.suffix in {".service", ".timer"}) == (
        sorted(UNIT_NAMES)
    )


@needs_systemd_analyze
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    paths = [copy_for_verify(name, tmp_path) for name in UNIT_NAMES]
    for name in SERVICES:
        assert str(ORGANISER) in (tmp_path / name).read_text(encoding="utf-8")

    result = analyze("verify", *paths)

    assert result.returncode == 0, result.stdout + result.stderr
    # verify only warns (exit 0) about unknown keys and bad values: no warning about ours
    assert complaints(result, UNIT_NAMES) == [], result.stdout + result.stderr


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("old", "new", "reported"),
    [
        ("ProtectSystem=strict", "ProtectSytem=strict", "ProtectSytem"),  # typo: warning only
        ("Type=notify", "Type=notfiy", "notfiy"),  # bad value: warning only
        ("[Service]", "[Servce]", "Servce"),
        (INSTALLED, "/nonexistent/bin/organiser", "/nonexistent/bin/organiser"),
    ],
)
def test_verify_reports_a_broken_unit(tmp_path: Path, old: str, new: str, reported: str) -> None:
    text = (SYSTEMD / "organiser.service").read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = copy_for_verify("organiser.service", tmp_path, text.replace(old, new))

    result = analyze("verify", path)

    assert any(reported in line for line in complaints(result, ["organiser.service"])), (
        result.stdout + result.stderr
    )


def exposure(path: Path) -> float:
    """Give ``systemd-analyze security --offline=yes``'s overall exposure of the unit."""
    result = analyze("security", "--offline=yes", "--no-pager", path)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert found, result.stdout[-3000:] + result.stderr
    return float(found[1])


@needs_systemd_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened(tmp_path: Path, name: str) -> None:
    path = copy_for_verify(name, tmp_path)
    assert exposure(path) <= EXPOSURE
    # --threshold (in tenths) agrees: the command itself fails above it
    result = analyze("security", "--offline=yes", f"--threshold={EXPOSURE * 10:.0f}", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for index, section, key, _ in settings(text):
        if section == "Service" and key in HARDENING:
            lines[index] = "#" + lines[index]
    bare = tmp_path / "bare"
    bare.mkdir()
    path = copy_for_verify(name, bare, "\n".join(lines) + "\n")
    assert exposure(path) > EXPOSURE, "the exposure check cannot fail"
    # each line added for issue 17 is one systemd-analyze counts as met (\u2713), and not without it
    met = analyze("security", "--offline=yes", "--no-pager", copy_for_verify(name, tmp_path))
    unmet = analyze("security", "--offline=yes", "--no-pager", path)
    for key in ("PrivateUsers", "PrivateMounts", "RemoveIPC", "ProcSubset", "UMask"):
        assert re.search(rf"^\u2713 {key}=", met.stdout, re.MULTILINE), key
        assert re.search(rf"^\u2717 {key}=", unmet.stdout, re.MULTILINE), key


@pytest.mark.parametrize("name", SERVICES)
def test_services_declare_what_the_install_needs(name: str) -> None:
    service = partial(values, name, "Service")

    assert service("ExecStart")[0].split()[0] == INSTALLED
    assert service("User") == ["organiser"]
    assert service("Group") == ["organiser"]
    assert service("StateDirectory") == ["organiser"]
    assert service("Environment") == ["ORGANISER_CONFIG=/etc/organiser/organiser.ini"]
    assert service("LoadCredential") == [
        f"{credential_name(section, 'password')}:/etc/organiser/{section}_password"
        for section in CREDENTIALS[name]
    ]
    # an optional credential has a default, so its file may be missing (no 243/CREDENTIALS)
    assert service("SetCredential") == [
        f"{credential_name(section, 'password')}:\\n"
        for section in CREDENTIALS[name]
        if section in OPTIONAL
    ]
    assert service("WatchdogSec") == ([WATCHDOG[name]] if WATCHDOG[name] else [])
    assert service("UMask") == ["0077"]
    for key in ("PrivateUsers", "PrivateMounts", "RemoveIPC"):
        assert service(key) == ["yes"], key
    assert service("ProcSubset") == ["pid"]
    assert service("NoNewPrivileges") == ["yes"]
    assert service("ProtectSystem") == ["strict"]
    assert service("ProtectHome") == ["yes"]
    assert service("PrivateTmp") == ["yes"]


@pytest.mark.parametrize("name", SERVICES)
def test_the_default_email_credential_means_no_password(tmp_path: Path, name: str) -> None:
    (value,) = values(name, "Service", "SetCredential")
    credential, _, escaped = value.partition(":")
    # what systemd writes to the credential file: the value with C escapes undone
    (tmp_path / credential).write_bytes(codecs.decode(escaped, "unicode_escape").encode())
    ini = tmp_path / "organiser.ini"
    ini.write_text("[email]\nusername = alerts\n", encoding="utf-8")

    config = load(str(ini), {"CREDENTIALS_DIRECTORY": str(tmp_path)}, tmp_path / "none.ini")

    assert config["email"]["password"] == ""
    assert str(tmp_path / credential) in config.files  # it was read, not missing


def test_the_daemon_unit() -> None:
    service = partial(values, "organiser.service", "Service")
    assert service("Type") == ["notify"]
    assert service("ExecStart") == [f"{INSTALLED} daemon"]
    assert service("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert service("Restart") == ["on-failure"]
    assert values("organiser.service", "Install", "WantedBy") == ["multi-user.target"]


def test_the_api_unit() -> None:
    service = partial(values, "organiser-api.service", "Service")
    assert service("Type") == ["notify"]
    assert service("ExecStart") == [f"{INSTALLED} serve"]
    assert service("Restart") == ["on-failure"]
    assert service("RestartPreventExitStatus") == ["2"]
    assert values("organiser-api.service", "Install", "WantedBy") == ["multi-user.target"]


def test_the_run_unit_and_its_timer() -> None:
    service = partial(values, "organiser-run.service", "Service")
    assert service("Type") == ["oneshot"]
    assert service("ExecStart") == [shlex.join([INSTALLED, *PASSES])]
    assert "143" in service("SuccessExitStatus")[0].split()
    assert service("Restart") == []

    timer = partial(values, "organiser-run.timer", "Timer")
    assert timer("OnCalendar") == ["*:0/15"]
    assert timer("Persistent") == ["true"]
    delay = re.fullmatch(r"(\d+)(s|min)", timer("RandomizedDelaySec")[0])
    assert delay, timer("RandomizedDelaySec")
    seconds = int(delay[1]) * (60 if delay[2] == "min" else 1)
    assert 0 < seconds <= 5 * 60  # spreads the start, well within the 15-minute period
    assert values("organiser-run.timer", "Install", "WantedBy") == ["timers.target"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_hardening_line_has_a_comment_above(name: str) -> None:
    text = (SYSTEMD / name).read_text(encoding="utf-8")
    hardening = [key for _, section, key, _ in settings(text) if key in HARDENING]
    assert len(hardening) >= 4
    assert uncommented_hardening(text) == []

    # the check can fail: drop the comment above ProtectHome=
    lines = text.splitlines(keepends=True)
    at = lines.index("ProtectHome=yes\n")
    assert lines[at - 1].startswith("#")
    del lines[at - 1]
    assert uncommented_hardening("".join(lines)) == ["ProtectHome=yes"]


# --- cron job --------------------------------------------------------------------------------

#: The job line as it was before the fix: sourcing without exporting.
BROKEN = ". /etc/organiser/organiser.env && organiser " + " ".join(PASSES)
ENV_FILE = "/etc/organiser/organiser.env"
#: Awkward on purpose: white space, $, ;, # and a double quote, single-quoted in the file.
DATACITE_PASSWORD = 'pa ss$word;#"x'
SHELLS = [shell for shell in ("sh", "dash", "bash") if shutil.which(shell)]


def cron_job() -> tuple[dict[str, str], str, str]:
    """Give the cron file's variables, the user and the command of its one job."""
    variables, jobs = {}, []
    for line in CRON.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", line):
            name, _, value = line.partition("=")
            variables[name] = value
        else:
            jobs.append(line.split(None, 6))
    assert len(jobs) == 1, jobs
    *when, user, command = jobs[0]
    assert when == ["*/15", "*", "*", "*", "*"]
    return variables, user, command


def run_as_cron(
    tmp: Path, command: str, shell: str = "sh", env_file: bool = True
) -> tuple[int, dict | None]:
    """Run ``command`` with ``shell -c`` as cron would (its variables, a fresh environment),
    a fake ``organiser`` first on PATH and the env file in ``tmp``; give the exit code and
    what the fake saw (environment and arguments), or None if it did not run."""
    variables, _, _ = cron_job()
    env_path = tmp / "organiser.env"
    if env_file:
        env_path.write_text(
            f"{env_name('datacite', 'password')}='{DATACITE_PASSWORD}'\n"
            f"{env_name('email', 'password')}='smtp-secret'\n",
            encoding="utf-8",
        )
    assert ENV_FILE in command
    command = command.replace(ENV_FILE, shlex.quote(str(env_path)))

    bin_dir, seen = tmp / "bin", tmp / "seen.json"
    bin_dir.mkdir(exist_ok=True)
    seen.unlink(missing_ok=True)
    fake = bin_dir / "organiser"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(seen)!r}, 'w') as out:\n"
        "    json.dump({'env': dict(os.environ), 'argv': sys.argv[1:]}, out)\n"
        "sys.exit(75)\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    # cron's own environment, then the file's variables
    env = {"HOME": str(tmp), "LOGNAME": "organiser", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    env |= variables
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    result = subprocess.run(
        [shutil.which(shell) or shell, "-c", command],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if not seen.exists():
        return result.returncode, None
    return result.returncode, json.loads(seen.read_text(encoding="utf-8"))


def test_the_cron_job_runs_all_passes_as_organiser() -> None:
    variables, user, command = cron_job()
    assert user == "organiser"
    assert variables["ORGANISER_CONFIG"] == "/etc/organiser/organiser.ini"
    assert str(Path(INSTALLED).parent) in variables["PATH"].split(":")
    assert command.endswith("organiser " + " ".join(PASSES))


@pytest.mark.parametrize("shell", SHELLS)
def test_the_cron_job_passes_the_env_file_to_organiser(tmp_path: Path, shell: str) -> None:
    _, _, command = cron_job()

    code, seen = run_as_cron(tmp_path, command, shell)

    assert seen is not None, "organiser did not run"
    assert seen["env"].get("ORGANISER_DATACITE_PASSWORD") == DATACITE_PASSWORD
    assert seen["env"].get("ORGANISER_EMAIL_PASSWORD") == "smtp-secret"
    assert seen["env"].get("ORGANISER_CONFIG") == "/etc/organiser/organiser.ini"
    assert seen["argv"] == PASSES
    assert code == 75  # organiser's exit code is the job's


def test_sourcing_without_export_would_not_pass_the_password(tmp_path: Path) -> None:
    _, seen = run_as_cron(tmp_path, BROKEN)

    assert seen is not None, "organiser did not run"
    assert "ORGANISER_DATACITE_PASSWORD" not in seen["env"]
    assert seen["env"].get("ORGANISER_CONFIG") == "/etc/organiser/organiser.ini"


@pytest.mark.parametrize("shell", SHELLS)
def test_a_missing_env_file_stops_the_job(tmp_path: Path, shell: str) -> None:
    _, _, command = cron_job()

    code, seen = run_as_cron(tmp_path, command, shell, env_file=False)

    assert seen is None, "organiser ran without its passwords"
    assert code != 0
