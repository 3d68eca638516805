#!/usr/bin/env python3
"""Summarize a bench/affected.sh run as Markdown.

    python3 bench/report.py bench/out --sizes "1000 10000" [--elapsed SECONDS]

Reads, per size, bench/out/<size>/: hf-<case>.json (hyperfine exports), rss-<case>.txt
(`/usr/bin/time -f %M`, KiB), tree-<case>.json (bench/peak_rss.py), affected-<tool>.json
(each tool's output), meta.json and gen.json (the generator). Checks that the three tools
report the same affected set as the generator's own graph, and prints the tables.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_workspace  # noqa: E402

CASES = [
    ("strata-cold", "strata", "cold: no `.strata/` cache"),
    ("strata-warm", "strata", "warm: fact cache from the previous run"),
    ("strata-edit", "strata", "warm, the changed file edited again before each run"),
    ("strata-daemon", "strata", "daemon running (`strata daemon start`)"),
    ("strata-daemon-edit", "strata", "daemon running, the changed file edited again before each run"),
    ("turbo-cold", "turbo", "cold: no `.turbo/`"),
    ("turbo-warm", "turbo", "warm: after one run"),
    ("nx-cold", "nx", "cold: no `.nx/` (project graph cache)"),
    ("nx-warm", "nx", "warm: `.nx/` from the previous run"),
]

TARGETS = {"warm_ms": 100, "cold_ms": 500, "rss_mb": 100}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def package_name(label):
    return gen_workspace.package_name(label)


def affected_sets(res):
    """tool -> set of package names, or None when the output is missing."""
    sets = {}
    s = load(os.path.join(res, "affected-strata.json"))
    sets["strata"] = None if s is None else {package_name(t["label"]) for t in s["targets"]}
    t = load(os.path.join(res, "affected-turbo.json"))
    sets["turbo"] = None if t is None else {p["name"] for p in t["packages"]["items"]}
    x = load(os.path.join(res, "affected-nx.json"))
    sets["nx"] = None if x is None else set(x)
    return sets


def expected_set(meta):
    ws = gen_workspace.Workspace(meta["stacks"], meta["seed"])
    return {package_name(l) for l in ws.dependents_closure(meta["changed_module"])}


def ms(seconds):
    return f"{seconds * 1000:.0f}" if seconds >= 0.0995 else f"{seconds * 1000:.1f}"


def mb(kib):
    return "–" if kib is None else f"{kib / 1024:.0f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--sizes", required=True)
    p.add_argument("--elapsed", type=int)
    args = p.parse_args()
    env = load(os.path.join(args.out, "environment.json")) or {}
    sizes = [int(s) for s in args.sizes.split()]

    lines = ["# strata affected: benchmark results", ""]
    lines.append(
        f"Run {env.get('date', '?')} on {env.get('cpu', '?')} ({env.get('nproc', '?')} cores, "
        f"{env.get('memory', '?')} RAM), {env.get('kernel', '?')}. "
        f"strata {env.get('strata_commit', '?')} ({env.get('rustc', '?')}), "
        f"turbo {env.get('turbo', '?')}, nx {env.get('nx', '?')} (node {env.get('node', '?')}), "
        f"{env.get('hyperfine', '?')}, {env.get('git', '?')}. Network: "
        + ("none (tools ran in a new network namespace)." if env.get("offline", "no") != "no"
           else "available.")
    )
    lines.append("")
    lines.append(
        "Times are hyperfine wall-clock over the runs shown; CPU is the mean user + system time "
        "of the process tree per run; peak RSS is `/usr/bin/time -f %M` "
        "(largest single process) and, in brackets, the sampled peak of the whole process tree "
        "(workers, git) from bench/peak_rss.py, both in MiB, over one run in the same state."
    )
    lines.append("")
    lines.append(
        "| stacks | targets | tool | state | median ms | mean ± σ ms | min–max ms | CPU ms "
        "| runs | peak RSS MiB | affected |"
    )
    lines.append("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")

    checks = []
    headline = {}
    for n in sizes:
        res = os.path.join(args.out, str(n))
        meta = load(os.path.join(res, "meta.json")) or {}
        gen = load(os.path.join(res, "gen.json")) or {}
        sets = affected_sets(res)
        want = expected_set(meta) if meta else None
        for case, tool, state in CASES:
            hf = load(os.path.join(res, f"hf-{case}.json"))
            if hf is None:
                lines.append(f"| {n} | {meta.get('targets', '?')} | {tool} | {state} | failed | | | | | | |")
                continue
            r = hf["results"][0]
            rss = read_int(os.path.join(res, f"rss-{case}.txt"))
            tree = (load(os.path.join(res, f"tree-{case}.json")) or {}).get("tree_peak_kb")
            got = sets.get(tool)
            count = "–" if got is None else str(len(got))
            lines.append(
                f"| {n} | {meta.get('targets', '?')} | {tool} | {state} | **{ms(r['median'])}** "
                f"| {ms(r['mean'])} ± {ms(r['stddev'] or 0.0)} | {ms(r['min'])}–{ms(r['max'])} "
                f"| {ms(r['user'] + r['system'])} "
                f"| {len(r['times'])} | {mb(rss)} ({mb(tree)}) | {count} |"
            )
            headline[(n, case)] = (r["median"], rss, tree)
        # Agreement of the affected sets.
        if want is not None:
            parts = []
            for tool in ("strata", "turbo", "nx"):
                got = sets.get(tool)
                if got is None:
                    parts.append(f"{tool}: no output")
                elif got == want:
                    parts.append(f"{tool}: {len(got)} (same set)")
                else:
                    missing = sorted(want - got)[:5]
                    extra = sorted(got - want)[:5]
                    parts.append(
                        f"{tool}: {len(got)} (differs: missing {missing}, extra {extra})"
                    )
            checks.append(
                f"- {n} stacks: {meta['targets']} targets, {meta['edges']} edges, "
                f"{gen.get('files', '?')} files, generated in {gen.get('seconds', 0):.1f} s; "
                f"change: `{meta['changed_file']}`; the generator's graph says "
                f"{len(want)} affected ({meta['expected_affected_by_kind']}). "
                + "; ".join(parts)
                + "."
            )

    loads = []
    for n in sizes:
        try:
            with open(os.path.join(args.out, str(n), "load.txt")) as f:
                for line in f:
                    name, busy = line.split()
                    loads.append((int(busy), f"{n} stacks, {name}"))
        except OSError:
            pass
    if loads:
        worst = max(loads)
        lines.append("")
        lines.append(
            "Before each timing case the script waits (up to two minutes) until the CPUs are "
            f"at most 10% busy with other work; the highest reading it started a case at was "
            f"{worst[0]}% ({worst[1]})."
        )
    lines.append("")
    lines.append("Workspaces and affected sets:")
    lines.append("")
    lines.extend(checks)

    big = max(sizes)
    if (big, "strata-warm") in headline:
        warm = headline[(big, "strata-warm")]
        cold = headline[(big, "strata-cold")]
        rss_values = [v for v in (warm[1], cold[1]) if v is not None]
        peak = max(rss_values) if rss_values else None
        tree_values = [v for v in (warm[2], cold[2]) if v is not None]
        tree = max(tree_values) if tree_values else None
        lines.append("")
        lines.append(f"Targets at {big} stacks:")
        lines.append("")
        lines.append("| target | measured | met |")
        lines.append("|---|---:|---|")
        lines.append(
            f"| warm ≤ {TARGETS['warm_ms']} ms | {ms(warm[0])} ms | "
            f"{'yes' if warm[0] * 1000 <= TARGETS['warm_ms'] else 'no'} |"
        )
        lines.append(
            f"| cold ≤ {TARGETS['cold_ms']} ms | {ms(cold[0])} ms | "
            f"{'yes' if cold[0] * 1000 <= TARGETS['cold_ms'] else 'no'} |"
        )
        if peak is not None:
            lines.append(
                f"| peak RSS ≤ {TARGETS['rss_mb']} MB | {peak * 1024 / 1e6:.0f} MB "
                f"(`time %M`, larger of cold and warm; process tree with git: "
                f"{'?' if tree is None else f'{tree * 1024 / 1e6:.0f} MB'}) | "
                f"{'yes' if peak * 1024 <= TARGETS['rss_mb'] * 1_000_000 else 'no'} |"
            )
        daemon = headline.get((big, "strata-daemon"))
        daemon_edit = headline.get((big, "strata-daemon-edit"))
        if daemon is not None:
            worst = max(daemon[0], daemon_edit[0] if daemon_edit else 0)
            lines.append(
                f"| warm ≤ {TARGETS['warm_ms']} ms, with the daemon (slower of unchanged and "
                f"edited) | {ms(worst)} ms | {'yes' if worst * 1000 <= TARGETS['warm_ms'] else 'no'} |"
            )
        for n in sizes:
            res = os.path.join(args.out, str(n))
            try:
                with open(os.path.join(res, "daemon-rss.txt")) as f:
                    hwm, rss = (int(v) for v in f.read().split()[:2])
                with open(os.path.join(res, "daemon-start.txt")) as f:
                    start = float(f.read().strip())
            except (OSError, ValueError):
                continue
            lines.append("")
            lines.append(
                f"Daemon at {n} stacks: `strata daemon start` took {start:.2f} s (a full read); "
                f"the daemon process peaked at {hwm / 1024:.0f} MiB and held {rss / 1024:.0f} MiB "
                f"at the end (VmHWM / VmRSS); clients are in the table."
            )
    if args.elapsed is not None:
        lines.append("")
        lines.append(f"Whole script: {args.elapsed // 60} min {args.elapsed % 60} s.")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
