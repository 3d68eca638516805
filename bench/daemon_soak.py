#!/usr/bin/env python3
"""How much memory `strata daemon` holds after a long session of edits and requests.

    python3 bench/daemon_soak.py --workspace /tmp/ws10k --strata target/release/strata \
        --minutes 60

Runs in a workspace made by bench/gen_workspace.py (a git repository). It starts a daemon,
then for the given time repeats, every `--interval` seconds, one developer action followed by
`strata affected --json` answered by the daemon:

- append a comment to a random `.tf` file (most actions);
- put an edited file back as committed (`git checkout -- FILE`);
- add a stack (a copy of an existing one under a new name) or remove one added earlier;
- stage everything (`git add -A`), which makes the daemon re-read the index;
- commit everything, which moves HEAD and so the merge-base;
- ask about another base (`--base HEAD~1`), which makes the daemon build and keep that
  commit's baseline.

Before every action (after the pause) and right after every answer it samples the daemon's
resident memory (VmRSS), and its peak (VmHWM), from /proc. Every `--check-every` requests it
asks the daemon for its live heap (`strata daemon status`), which tells growing data from
free space the allocator keeps, and asks the same question without the daemon
(`STRATA_DAEMON=0`), failing if the two answers differ: a daemon that is small but wrong
would be no result. Writes one CSV row per request (`--csv`) and prints a Markdown summary.
The workspace is left with the soak's commits; regenerate it for other benchmarks.
"""

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time


def run(cmd, cwd, env=None, check=True):
    return subprocess.run(cmd, cwd=cwd, env=env, check=check, capture_output=True, text=True)


def status_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(value.split()[0])
    return out["VmRSS"], out["VmHWM"], out["RssAnon"]


def daemon_pid(ws):
    lock = os.path.join(ws, ".strata", "daemon", "lock")
    for _ in range(600):
        try:
            words = open(lock).read().split()
            if len(words) == 2 and words[1] == "ready":
                return int(words[0])
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("daemon_soak: the daemon did not become ready within 60 s")


def affected(strata, ws, base, daemon):
    env = dict(os.environ)
    env["STRATA_DAEMON"] = "manual" if daemon else "0"
    cmd = [strata, "affected", "--json"]
    if base:
        cmd += ["--base", base]
    started = time.monotonic()
    p = run(cmd, ws, env=env, check=False)
    elapsed = (time.monotonic() - started) * 1000
    if p.returncode != 0:
        sys.exit(f"daemon_soak: {' '.join(cmd)} exited {p.returncode}:\n{p.stderr}")
    if daemon and "answered without it" in p.stderr:
        sys.exit(f"daemon_soak: the daemon did not answer:\n{p.stderr}")
    answer = json.loads(p.stdout)
    return elapsed, answer


def heap_in_use_kib(strata, ws):
    """The daemon's live heap as it reports it (`daemon status`), or None."""
    env = dict(os.environ, STRATA_DAEMON="manual")
    p = run([strata, "--json", "daemon", "status"], ws, env=env, check=False)
    try:
        return (json.loads(p.stdout).get("memory") or {}).get("heap_in_use_kib")
    except ValueError:
        return None


def labels(answer):
    """What must agree between the daemon and a run without it."""
    return json.dumps(answer, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--check-every", type=int, default=60)
    ap.add_argument("--commit-every", type=int, default=300)
    ap.add_argument("--stage-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--csv", default=None)
    args = ap.parse_args()
    ws = os.path.abspath(args.workspace)
    strata = os.path.abspath(args.strata)
    rng = random.Random(args.seed)

    tf_files = [
        os.path.join(d, f)
        for top in ("stacks", "modules")
        for d, _, fs in os.walk(os.path.join(ws, top))
        for f in fs
        if f.endswith(".tf")
    ]
    tf_files = sorted(os.path.relpath(p, ws) for p in tf_files)
    stacks = sorted(os.listdir(os.path.join(ws, "stacks")))

    run([strata, "daemon", "stop"], ws, check=False)
    run([strata, "daemon", "start"], ws)
    pid = daemon_pid(ws)
    rows = []
    fields = ["seconds", "request", "action", "latency_ms", "affected", "idle_rss_kib",
              "idle_anon_kib", "rss_kib", "hwm_kib", "heap_in_use_kib"]
    # Written row by row, so a run cut short still leaves its measurements.
    out = open(args.csv, "w", newline="") if args.csv else None
    writer = csv.DictWriter(out, fieldnames=fields) if out else None
    if writer:
        writer.writeheader()
    heap_first = heap_in_use_kib(strata, ws)
    edited = set()
    added = []
    checks = commits = 0
    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    i = 0
    while time.monotonic() < deadline:
        i += 1
        # Resident while idle: after the pause since the last answer, before the next action.
        idle_rss, _, idle_anon = status_kib(pid)
        roll = rng.random()
        base = None
        if i % args.commit_every == 0:
            run(["git", "add", "-A"], ws)
            run(["git", "commit", "-q", "-m", f"soak {i}"], ws)
            edited.clear()
            commits += 1
            action = "commit"
        elif i % args.stage_every == 0:
            run(["git", "add", "-A"], ws)
            action = "stage"
        elif roll < 0.05 and commits:
            base = "HEAD~1"
            action = "other base"
        elif roll < 0.10 and edited:
            path = rng.choice(sorted(edited))
            run(["git", "checkout", "--", path], ws, check=False)
            edited.discard(path)
            action = "revert"
        elif roll < 0.13:
            source = rng.choice(stacks)
            name = f"soak-{os.getpid()}-{i}"
            shutil.copytree(os.path.join(ws, "stacks", source), os.path.join(ws, "stacks", name))
            added.append(name)
            action = "add stack"
        elif roll < 0.16 and added:
            name = added.pop(rng.randrange(len(added)))
            shutil.rmtree(os.path.join(ws, "stacks", name), ignore_errors=True)
            action = "remove stack"
        else:
            path = rng.choice(tf_files)
            with open(os.path.join(ws, path), "a") as f:
                f.write(f"# soak edit {i} {rng.random()}\n")
            edited.add(path)
            action = "edit"
        ms, answer = affected(strata, ws, base, daemon=True)
        rss, hwm, _ = status_kib(pid)
        # Every check, the live heap beside the resident set: growth of live data shows
        # there, the allocator's retained free space only in the resident set.
        heap = heap_in_use_kib(strata, ws) if i % args.check_every == 0 else None
        rows.append(
            {
                "seconds": round(time.monotonic() - started, 1),
                "request": i,
                "action": action,
                "latency_ms": round(ms, 1),
                "affected": len(answer.get("targets", answer.get("affected", []))),
                "idle_rss_kib": idle_rss,
                "idle_anon_kib": idle_anon,
                "rss_kib": rss,
                "hwm_kib": hwm,
                "heap_in_use_kib": heap,
            }
        )
        if writer:
            writer.writerow(rows[-1])
            out.flush()
        if i % args.check_every == 0:
            _, alone = affected(strata, ws, base, daemon=False)
            if labels(alone) != labels(answer):
                sys.exit(f"daemon_soak: request {i}: the daemon's answer differs from one without it")
            checks += 1
        time.sleep(max(0.0, args.interval - ms / 1000))

    rss, hwm, _ = status_kib(pid)
    heap_last = heap_in_use_kib(strata, ws)
    run([strata, "daemon", "stop"], ws, check=False)
    if out:
        out.close()

    def mib(kib):
        return f"{kib / 1024:.1f} MiB"

    first = [r["idle_rss_kib"] for r in rows if r["seconds"] <= 60]
    last = [r["idle_rss_kib"] for r in rows if r["seconds"] >= rows[-1]["seconds"] - 60]
    answered = [r["rss_kib"] for r in rows]
    lat = sorted(r["latency_ms"] for r in rows)
    counts = {}
    for r in rows:
        counts[r["action"]] = counts.get(r["action"], 0) + 1
    print(f"## daemon soak: {args.minutes:g} minutes, {len(rows)} requests\n")
    print("| measure | value |\n|---|---:|")
    print(f"| resident while idle, first minute (max) | {mib(max(first))} |")
    print(f"| resident while idle, last minute (max) | {mib(max(last))} |")
    print(f"| resident while idle, whole run (max) | {mib(max(r['idle_rss_kib'] for r in rows))} |")
    print(f"| resident right after an answer (max) | {mib(max(answered))} |")
    print(f"| resident at the end | {mib(rss)} |")
    print(f"| peak resident (VmHWM) | {mib(hwm)} |")
    if heap_first is not None and heap_last is not None:
        print(f"| live heap at the start / at the end | {mib(heap_first)} / {mib(heap_last)} |")
    print(f"| request latency median / p95 / max | {statistics.median(lat):.0f} / "
          f"{lat[int(len(lat) * 0.95)]:.0f} / {lat[-1]:.0f} ms |")
    print(f"| answers checked against a run without the daemon | {checks} (all equal) |")
    print(f"| commits | {commits} |")
    print("\nactions: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
