"""Throughput, memory and rate-limit pacing benchmarks of target-linkedin-audiences.

For each size it generates Salesforce-like Contact records (bench/generate.py) and times, in
alternating rounds:

  a. this target with validation on, against the embedded sandbox (`sandbox: true`);
  b. a do-nothing singer-sdk target with default settings (bench/noop_target.py);
  c. the floor: a plain loop that parses, hashes and builds batch bodies (bench/floor.py).

Each timed run is a child process fed from a file; its wall time includes start-up, and its
peak RSS comes from wait4(). `--paced` instead runs 200,000 members in batches of 1,000 under a
limit of 120 requests a minute (`--limit`), set on both the target and a sandbox this process
serves. It compares the span of the run's requests with the minimum the limit allows.

Usage:
  .venv/bin/python bench/run.py [--sizes 100000 1000000] [--rounds 5 1] [--markdown FILE]
  .venv/bin/python bench/run.py --paced [--limit 120] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate import SEGMENT_CONFIG, write_messages  # noqa: E402

PYTHON = sys.executable
TARGET = [PYTHON, "-m", "target_linkedin_audiences.target"]
PEAK_LINE = re.compile(r"Peak memory of the target process: (\d+) MiB")
BATCH_LINE = re.compile(r"Batch to segment (\S+): action=(\w+) sent=(\d+) accepted=(\d+) rejected=(\d+)")
PACED_MEMBERS = 200_000
PACED_BATCH = 1_000
PACED_LIMIT = 120
RATE_WINDOW_SECONDS = 60.0


def run_child(command: list[str], stdin_path: Path, cwd: Path) -> tuple[float, int, str, int, float]:
    """Run `command` with `stdin_path` as stdin.

    Returns wall seconds, peak RSS bytes, stderr, exit code and CPU seconds (user and system, of
    the child and of the children it waited for, such as the embedded sandbox).
    """
    stderr_path = cwd / "stderr.log"
    with stdin_path.open("rb") as stdin, stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=stderr, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss * 1024, stderr_path.read_text(errors="replace"), process.returncode, cpu


def target_config(workdir: Path, batch_size: int = 5000, **extra: object) -> Path:
    config = {
        "batch_size_rows": batch_size,
        "delete_field": "IsDeleted",
        "segments": SEGMENT_CONFIG,
        "ledger_path": str(workdir / "ledger.db"),
        "reject_file_path": str(workdir / "rejects.jsonl"),
        **extra,
    }
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    return path


def batches_from_log(stderr: str) -> dict[str, list[int]]:
    """Return the element count of every request per action, from the target's batch log lines."""
    sizes: dict[str, list[int]] = {}
    for match in BATCH_LINE.finditer(stderr):
        sizes.setdefault(match.group(2), []).append(int(match.group(3)))
    return sizes


def full_except_last(sizes: list[int], batch_size: int) -> bool:
    return all(size == batch_size for size in sizes[:-1]) and 0 < sizes[-1] <= batch_size


class TargetWithSandbox:
    """Variant a: a warm embedded-sandbox directory, copied fresh for every timed run.

    The warm-up run creates the segment, so timed runs skip the wait LinkedIn imposes between
    creating a segment and writing to it, which would otherwise add 5 s to every run.
    """

    def __init__(self, root: Path) -> None:
        self.warm = root / "a-warm"
        self.warm.mkdir()
        warm_input = root / "warm.jsonl"
        write_messages(10, warm_input)
        config = target_config(self.warm, sandbox=True, sandbox_db_path=str(self.warm / "sandbox" / "sandbox.db"))
        _, _, stderr, code, _ = run_child([*TARGET, "--config", str(config)], warm_input, self.warm)
        if code != 0:
            raise RuntimeError(f"the warm-up run of the target failed with exit code {code}:\n{stderr[-3000:]}")
        self.root = root

    def run(self, input_path: Path, round_number: int) -> tuple[float, int, str, int, float]:
        workdir = self.root / f"a-{input_path.stem}-{round_number}"
        shutil.copytree(self.warm, workdir)
        config = target_config(workdir, sandbox=True, sandbox_db_path=str(workdir / "sandbox" / "sandbox.db"))
        result = run_child([*TARGET, "--config", str(config)], input_path, workdir)
        shutil.rmtree(workdir / "sandbox", ignore_errors=True)
        return result


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def throughput_benchmark(sizes: list[int], rounds: list[int], root: Path, distinct: bool = False) -> dict:
    variant_a = TargetWithSandbox(root)
    commands = {
        "b": [PYTHON, str(HERE / "noop_target.py")],
        "c": [PYTHON, str(HERE / "floor.py")],
    }
    results: dict = {}
    for size, round_count in zip(sizes, rounds):
        input_path = root / f"contacts-{size}.jsonl"
        write_messages(size, input_path, distinct=distinct)
        runs: dict[str, list[tuple[float, int, float]]] = {"a": [], "b": [], "c": []}
        target_alone_mib: list[int] = []
        requests: dict[str, list[int]] = {}
        for round_number in range(round_count):
            for variant in ("a", "b", "c"):
                if variant == "a":
                    elapsed, rss, stderr, code, cpu = variant_a.run(input_path, round_number)
                    requests = batches_from_log(stderr)
                    target_alone_mib.extend(int(peak) for peak in PEAK_LINE.findall(stderr))
                else:
                    workdir = root / f"{variant}-{size}-{round_number}"
                    workdir.mkdir()
                    elapsed, rss, stderr, code, cpu = run_child(commands[variant], input_path, workdir)
                if code != 0:
                    raise RuntimeError(f"variant {variant} failed with exit code {code}:\n{stderr[-3000:]}")
                runs[variant].append((size / elapsed, rss, cpu))
                print(f"{size:>9} records  round {round_number + 1}/{round_count}  {variant}: "
                      f"{size / elapsed:9.0f} records/s  peak RSS {rss / 2**20:6.1f} MiB  "
                      f"CPU {cpu / size * 1e6:5.1f} µs/record", flush=True)
        input_path.unlink()

        rates = {variant: summarize([rate for rate, _, _ in values]) for variant, values in runs.items()}
        results[size] = {
            "rounds": round_count,
            "records_per_second": rates,
            "peak_rss_bytes": {variant: max(rss for _, rss, _ in values) for variant, values in runs.items()},
            # Variant a's peak above is the larger of the target and its embedded sandbox; this is
            # the target's own, as it logs it.
            "peak_rss_target_alone_mib": max(target_alone_mib) if target_alone_mib else None,
            "cpu_microseconds_per_record": {
                variant: statistics.median(cpu / size * 1e6 for _, _, cpu in values) for variant, values in runs.items()
            },
            "a_over_b": rates["a"]["median"] / rates["b"]["median"],
            "a_over_c": rates["a"]["median"] / rates["c"]["median"],
            "requests": {action: len(sizes_) for action, sizes_ in requests.items()},
            "every_batch_full_except_last": all(full_except_last(s, 5000) for s in requests.values()),
        }
    return results


def paced_benchmark(root: Path, limit: int) -> dict:
    """Run 200 requests of 1,000 members under `limit` requests a minute; return measured and minimum spans."""
    sys.path.insert(0, str(REPO))
    from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

    workdir = root / "paced"
    workdir.mkdir()
    input_path = workdir / "contacts.jsonl"
    write_messages(PACED_MEMBERS, input_path)
    # The same limit on both sides: the sandbox returns 429 above it, the target paces under it.
    settings = SandboxSettings(users_requests_per_minute=limit, segment_ready_delay_seconds=0)
    with SandboxServer(workdir / "sandbox.db", settings=settings) as server:
        tokens = server.issue_token()
        config = target_config(
            workdir,
            batch_size=PACED_BATCH,
            api_base_url=server.url,
            oauth_base_url=server.url,
            client_id=server.client_id,
            client_secret=server.client_secret,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            token_store_path=str(workdir / "tokens.json"),
            source_platform=server.source_platform,
            ad_account_id=server.default_account_id,
            segment_write_delay_seconds=0,
            users_requests_per_minute=limit,
        )
        elapsed, rss, stderr, code, _ = run_child([*TARGET, "--config", str(config)], input_path, workdir)
        if code != 0:
            raise RuntimeError(f"the paced run failed with exit code {code}:\n{stderr[-3000:]}")
        db = sqlite3.connect(server.db_path)
        rows = db.execute(
            "SELECT at, status FROM requests WHERE method = 'POST' AND path LIKE '/rest/dmpSegments/%/users'"
            " ORDER BY seq"
        ).fetchall()
        db.close()

    times = [at for at, _ in rows]
    request_count = len(rows)
    # Request k (0-based) may not arrive before request k - limit + one window, so the last one
    # arrives at least (full windows before it) x 60 s after the first.
    minimum_span = ((request_count - 1) // limit) * RATE_WINDOW_SECONDS
    span = times[-1] - times[0] if times else 0.0
    sizes = batches_from_log(stderr)
    return {
        "members": PACED_MEMBERS,
        "batch_size": PACED_BATCH,
        "limit_per_minute": limit,
        "requests": request_count,
        "status_429": sum(1 for _, status in rows if status == 429),
        "span_seconds": span,
        "minimum_span_seconds": minimum_span,
        "span_over_minimum": span / minimum_span if minimum_span else None,
        "run_seconds": elapsed,
        "peak_rss_bytes": rss,
        "every_batch_full_except_last": all(full_except_last(s, PACED_BATCH) for s in sizes.values()),
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def markdown_throughput(results: dict) -> str:
    lines = [
        "| records | rounds | a: this target | b: do-nothing SDK target | c: floor | a/b | a/c | peak RSS a (target alone) | peak RSS b | peak RSS c | CPU µs/record a, b, c | requests (ADD, REMOVE) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size, result in results.items():
        rates = result["records_per_second"]
        cells = [f"{rates[v]['median']:,.0f} ({rates[v]['min']:,.0f}–{rates[v]['max']:,.0f})" for v in "abc"]
        rss = [f"{result['peak_rss_bytes'][v] / 2**20:.0f} MiB" for v in "abc"]
        if result["peak_rss_target_alone_mib"] is not None:
            rss[0] += f" ({result['peak_rss_target_alone_mib']} MiB)"
        cpu = ", ".join(f"{result['cpu_microseconds_per_record'][v]:.0f}" for v in "abc")
        requests = result["requests"]
        full = "all full but the last" if result["every_batch_full_except_last"] else "NOT all full"
        lines.append(
            f"| {int(size):,} | {result['rounds']} | {' | '.join(cells)} | {result['a_over_b']:.2f} | "
            f"{result['a_over_c']:.2f} | {' | '.join(rss)} | {cpu} | {requests.get('ADD', 0)}, {requests.get('REMOVE', 0)}, {full} |"
        )
    return "\n".join(lines)


def markdown_paced(result: dict) -> str:
    return "\n".join([
        "| members | batch | limit | requests | 429s | span measured | minimum | measured/minimum | whole run |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {result['members']:,} | {result['batch_size']:,} | {result['limit_per_minute']}/min | "
        f"{result['requests']} | {result['status_429']} | {result['span_seconds']:.2f} s | "
        f"{result['minimum_span_seconds']:.2f} s | {result['span_over_minimum']:.3f} | {result['run_seconds']:.1f} s |",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, nargs="+", default=[5, 1],
                        help="alternating rounds per size, in the order of --sizes")
    parser.add_argument("--paced", action="store_true", help="run the paced 200,000-member run instead")
    parser.add_argument("--limit", type=int, default=PACED_LIMIT, help="requests a minute for --paced")
    parser.add_argument(
        "--distinct-values", action="store_true",
        help="give every record its own names, title, company and email domain (the default input repeats them)",
    )
    parser.add_argument("--markdown", type=Path, help="also write the result table to this file")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    args = parser.parse_args()
    if len(args.rounds) != len(args.sizes):
        parser.error("give one --rounds value per --sizes value")

    os.chdir(REPO)
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        root = Path(temporary)
        if args.paced:
            result = paced_benchmark(root, args.limit)
            table = markdown_paced(result)
        else:
            result = throughput_benchmark(args.sizes, args.rounds, root, args.distinct_values)
            table = markdown_throughput(result)

    header = f"Machine: {machine()}\n\n"
    print(header + table)
    if args.markdown:
        args.markdown.write_text(header + table + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
