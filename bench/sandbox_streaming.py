"""CPU cost of the sandbox's streaming endpoint, per 5,000-element BATCH_CREATE request.

The script starts the sandbox in a child process on a free loopback port with a fresh database,
as the target's `"sandbox": true` does, and creates a USER segment. It then POSTs `--requests`
bodies of `--elements` USER elements with the headers the target's client sends. One element in
twenty is a REMOVE of an earlier member. The child's user and system CPU time comes from
/proc/PID/stat before and after each request. The script prints CPU seconds per request and per
1,000 elements for the whole run and for its first and last tenth, so a slow-down as the
database grows shows. Last, it prints the CPU of one GET of the segment.

Usage:
  .venv/bin/python bench/sandbox_streaming.py [--requests 20] [--elements 5000] [--db-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

import target_linkedin_audiences
from target_linkedin_audiences.sandbox import issue_token_offline

VERSION = "202608"
ACCOUNT = "urn:li:sponsoredAccount:510000001"
FIRST_NAMES = ("Ana", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Julia")
LAST_NAMES = ("Lopez", "Schmidt", "Nakamura", "Okafor", "Kowalski", "Haddad", "Silva", "Novak", "Berg")
TITLES = ("Head of Marketing", "Software Engineer", "Chief Financial Officer", "Account Executive", "")
COMPANIES = ("Acme Corporation", "Globex", "Initech", "Umbrella Holdings", "Stark Industries")

CHILD_COMMAND = (
    "import sys\n"
    "from target_linkedin_audiences.sandbox import SandboxServer\n"
    "server = SandboxServer(db_path=sys.argv[1]).start()\n"
    "print(server.url, flush=True)\n"
    "sys.stdin.buffer.read()\n"
    "server.stop()\n"
)


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU seconds a process has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name, utime and stime are fields 12 and 13 (0-based) in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_body(first_index: int, count: int, rng: random.Random) -> bytes:
    """Build one BATCH_CREATE body; every twentieth element removes an earlier member."""
    elements = []
    for offset in range(count):
        index = first_index + offset
        if offset % 20 == 19:
            removed = rng.randrange(0, index)
            digest = hashlib.sha256(f"person{removed}@example.com".encode()).hexdigest()
            elements.append({"action": "REMOVE", "userIds": [{"idType": "SHA256_EMAIL", "idValue": digest}]})
            continue
        digest = hashlib.sha256(f"person{index}@example.com".encode()).hexdigest()
        elements.append({
            "action": "ADD",
            "userIds": [{"idType": "SHA256_EMAIL", "idValue": digest}],
            "firstName": rng.choice(FIRST_NAMES),
            "lastName": rng.choice(LAST_NAMES),
            "title": rng.choice(TITLES),
            "company": rng.choice(COMPANIES),
            "country": "US",
        })
    return orjson.dumps({"elements": elements})


def run(request_count: int, element_count: int, db_dir: Path) -> None:
    db_path = db_dir / "sandbox.db"
    # `python -c` puts the working directory first on sys.path, so the child runs from the
    # directory this process imported the package from, and both run the same code.
    package_root = Path(target_linkedin_audiences.__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_COMMAND, str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        cwd=package_root,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the sandbox child did not start; it printed {url!r}")
        session = requests.Session()
        token = issue_token_offline(db_path, 3600, 3600)["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        segment = {"name": "Bench", "account": ACCOUNT, "type": "USER", "sourcePlatform": "SANDBOX",
                   "destinations": [{"destination": "LINKEDIN"}]}
        response = session.post(f"{url}/rest/dmpSegments", json=segment, headers=headers, timeout=30)
        response.raise_for_status()
        segment_id = response.headers["x-restli-id"]
        session.post(f"{url}/_sandbox/clock", json={"advance_seconds": 10}, timeout=30).raise_for_status()

        rng = random.Random(8)
        bodies = [build_body(1 + number * element_count, element_count, rng) for number in range(request_count)]
        post_headers = {**headers, "X-RestLi-Method": "BATCH_CREATE", "Content-Type": "application/json"}
        samples = []
        for body in bodies:
            before, started = cpu_seconds(child.pid), time.perf_counter()
            response = session.post(f"{url}/rest/dmpSegments/{segment_id}/users", data=body,
                                    headers=post_headers, timeout=120)
            samples.append((cpu_seconds(child.pid) - before, time.perf_counter() - started))
            if response.status_code != 200:
                raise SystemExit(f"POST returned {response.status_code}: {response.text[:300]}")
        before = cpu_seconds(child.pid)
        response = session.get(f"{url}/rest/dmpSegments/{segment_id}", headers=headers, timeout=120)
        response.raise_for_status()
        segment_cpu = cpu_seconds(child.pid) - before
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)

    tenth = max(1, request_count // 10)
    for label, part in (("all", samples), ("first tenth", samples[:tenth]), ("last tenth", samples[-tenth:])):
        cpu = sum(sample[0] for sample in part) / len(part)
        wall = sum(sample[1] for sample in part) / len(part)
        print(f"{label:>12}: {len(part):4} requests, sandbox CPU {cpu:.3f} s/request"
              f" ({cpu / element_count * 1000 * 1000:.1f} ms per 1,000 elements), wall {wall:.3f} s/request")
    print(f"GET of the segment (counts its matched members): sandbox CPU {segment_cpu:.3f} s")
    print(f"database: {db_path.stat().st_size / 1e6:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="number of BATCH_CREATE requests")
    parser.add_argument("--elements", type=int, default=5000, help="elements per request")
    parser.add_argument("--db-dir", type=Path, help="directory for the database (default: a temporary one)")
    args = parser.parse_args()
    if args.db_dir is not None:
        args.db_dir.mkdir(parents=True, exist_ok=True)
        run(args.requests, args.elements, args.db_dir)
        return
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as directory:
        run(args.requests, args.elements, Path(directory))


if __name__ == "__main__":
    main()
