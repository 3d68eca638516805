#!/usr/bin/env python3
"""Run Checkov and `strata policy scan` on the same corpus, time them and compare findings.

Called by compare.sh, which installs Checkov and builds strata first. Standard library only.

Findings are compared per (file, Checkov check id, resource) for the Checkov ids that strata's
built-in pack maps (the Checkov ids of its rules, from `strata policy rules --json`). Each key lands in one of:

  both            both tools report it
  both (moved)    both report the check on the same file, but strata attributes it to a
                  companion resource (aws_s3_bucket_acl.x) and Checkov to the bucket itself,
                  or strata to the object at fault and Checkov to a related one (a VPC and
                  its default security group, a Deployment and the pods it creates)
  both (relabelled)  the same secret in the same block, under different CKV_SECRET ids
  only_checkov    Checkov fails the check, strata has no deny/warn finding for it
  only_strata     strata reports it, Checkov does not fail the check

Every only_* row gets a one-line reason from reasons.toml (file and resource are globs); rows
without one are listed as unexplained.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"
OUT = HERE / "out"

CKV_RE = re.compile(r"\bCKV2?_[A-Z0-9]+_[0-9]+\b")


# ----------------------------------------------------------------------------------------
# Running and timing


def run(cmd: list[str], cwd: Path, env: dict[str, str], ok_codes=(0, 1)) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{cmd[0]} exited with {proc.returncode}")
    return elapsed, proc.stdout


def timed(name: str, cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> tuple[dict, str]:
    times, out = [], ""
    for i in range(runs):
        elapsed, out = run(cmd, cwd, env)
        times.append(elapsed)
        print(f"  {name}: run {i + 1}/{runs} {elapsed:.3f} s", file=sys.stderr)
    return {
        "name": name,
        "command": " ".join(cmd),
        "cwd": os.path.relpath(cwd, ROOT),
        "runs_s": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
    }, out


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("BC_API_KEY", "PRISMA_API_URL", "BC_SOURCE", "CKV_API_KEY"):
        env.pop(key, None)
    # Checkov offline: no PyPI update check at start, no guideline mapping download
    # (--skip-download covers the same; both are read in checkov 3.3's own source).
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    env["BC_SKIP_MAPPING"] = "TRUE"
    return env


# ----------------------------------------------------------------------------------------
# Loading findings


def norm_path(path: str) -> str:
    """A path relative to the corpus directory, whatever the tool printed."""
    p = Path(path)
    if not (p.is_absolute() and p.exists()):
        # Checkov prints paths relative to -d ("/terraform/aws/x.tf") or to its working
        # directory (bench/compliance); strata relative to the repository root.
        candidates = [HERE / path, CORPUS / path.lstrip("/"), HERE / path.lstrip("/"), ROOT / path]
        p = next((c for c in candidates if c.exists()), candidates[0])
    try:
        return p.resolve().relative_to(CORPUS.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def norm_resource(resource: str, file: str) -> str:
    """Terraform `type.name` (index suffixes dropped), Kubernetes `Kind/name`."""
    if not resource:
        return ""
    if file.endswith((".yaml", ".yml")):
        if "/" in resource:
            kind, name = resource.split("/", 1)
            # strata may write Kind/namespace/name; keep Kind/name.
            return f"{kind}/{name.split('/')[-1]}"
        parts = resource.split(".", 2)  # Kind.namespace.name (names may hold dots)
        if len(parts) == 3:
            return f"{parts[0]}/{parts[2]}"
        return resource.replace(".", "/", 1)
    resource = re.sub(r"\[[^\]]*\]$", "", resource)
    return resource


def norm_strata_resource(resource: str, file: str, check: str) -> str:
    """strata's address in Checkov's naming: a data source by type.name, a provider as
    <name>.default (its secrets framework is matched by enclosing block, as strata names it)."""
    if check.startswith("CKV_SECRET_"):
        return norm_resource(resource, file)
    if resource.startswith("data."):
        resource = resource[len("data."):]
    elif resource.startswith("provider.") and resource.count(".") == 1:
        resource = resource[len("provider."):] + ".default"
    return norm_resource(resource, file)


def checkov_reports(text: str) -> list[dict]:
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


TF_BLOCK_RE = re.compile(r'^(resource|data)\s+"([^"]+)"\s+"([^"]+)"|^(module|variable|output|provider)\s+"([^"]+)"|^(locals)\b')
KIND_RE = re.compile(r"^kind:\s*['\"]?([A-Za-z0-9]+)", re.M)
NAME_RE = re.compile(r"^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*['\"]?([^'\"\s]+)", re.M)


def enclosing_block(file: str, line: int) -> str:
    """The Terraform block (type.name, module.x, var.x) or Kubernetes object (Kind/name)
    that holds a line: Checkov's secrets framework names a finding by a hash of the secret,
    strata by the block that holds it."""
    path = CORPUS / file
    if not path.exists():
        return ""
    lines = path.read_text().splitlines()
    if file.endswith(".tf"):
        found = ""
        for text in lines[: max(line, 1)]:
            m = TF_BLOCK_RE.match(text)
            if m:
                if m.group(1) == "resource":
                    found = f"{m.group(2)}.{m.group(3)}"
                elif m.group(1) == "data":
                    found = f"data.{m.group(2)}.{m.group(3)}"
                elif m.group(4):
                    short = {"variable": "var"}.get(m.group(4), m.group(4))
                    found = f"{short}.{m.group(5)}"
                else:
                    found = "locals"
        return found
    start = 0
    for i, text in enumerate(lines[: max(line, 1)]):
        if text.startswith("---"):
            start = i + 1
    end = next((i for i in range(max(line, 1), len(lines)) if lines[i].startswith("---")), len(lines))
    doc = "\n".join(lines[start:end]) + "\n"
    kind, name = KIND_RE.search(doc), NAME_RE.search(doc)
    return f"{kind.group(1)}/{name.group(1)}" if kind and name else ""


def load_checkov(texts: list[str]) -> tuple[list[dict], list[dict], str]:
    failed, passed, version = [], [], ""
    for text in texts:
        for report in checkov_reports(text):
            version = version or report.get("summary", {}).get("checkov_version", "")
            results = report.get("results", {})
            for bucket, kind in ((failed, "failed_checks"), (passed, "passed_checks")):
                for c in results.get(kind, []):
                    # Checkov 3.3's Kubernetes runner doubles a relative -d in file_abs_path
                    # (corpus/corpus/...); use file_path when that file does not exist.
                    abs_path = c.get("file_abs_path") or ""
                    file = norm_path(abs_path if abs_path and Path(abs_path).exists() else c["file_path"])
                    raw = c["resource"]
                    if report.get("check_type") == "secrets":
                        resource = enclosing_block(file, (c.get("file_line_range") or [0])[0])
                    elif ".checks.module." in (c.get("check_class") or ""):
                        resource = f"module.{raw}"
                    else:
                        resource = norm_resource(raw, file)
                    bucket.append(
                        {
                            "check": c["check_id"],
                            "file": file,
                            "resource": resource,
                            "raw_resource": raw,
                            "line": (c.get("file_line_range") or [None])[0],
                            "framework": report.get("check_type"),
                            "name": c.get("check_name") or "",
                        }
                    )
    return failed, passed, version


def failed_set(text: str) -> set:
    return {
        (c["check_id"], c["file_path"], c["resource"])
        for r in checkov_reports(text)
        for c in r.get("results", {}).get("failed_checks", [])
    }


def load_strata(path: Path) -> tuple[list[dict], dict]:
    data = json.loads(path.read_text())
    out = []
    for f in data.get("findings", []):
        details = f.get("details") or {}
        if not details.get("checkov"):
            continue
        file = norm_path(f["file"])
        out.append(
            {
                "check": details["checkov"],
                "rule": details.get("id") or f"{f['policy']}/{f['namespace']}.{f['rule']}",
                "file": file,
                "resource": norm_strata_resource(details.get("resource", ""), file, details["checkov"]),
                "outcome": f["outcome"],
                "msg": f.get("msg", ""),
                "policy": f.get("policy", ""),
            }
        )
    return out, data


def pack_rules() -> dict:
    """`strata policy rules --json` of the compared binary (saved by the run)."""
    return json.loads((OUT / "strata-rules.json").read_text())


def pack_mapping() -> dict[str, set[str]]:
    """Checkov id -> strata rule ids, from the rules' metadata (`strata policy rules`)."""
    mapping: dict[str, set[str]] = defaultdict(set)
    for rule in pack_rules()["rules"]:
        for ckv in rule["checkov"]:
            mapping[ckv].add(rule["id"])
    return mapping


def pack_digest() -> str:
    """The pack's version: strata's version and a digest of the pack's files."""
    return pack_rules()["version"]


# ----------------------------------------------------------------------------------------
# Reasons


def load_reasons(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return tomllib.loads(path.read_text()).get("reason", [])


def reason_for(row: dict, reasons: list[dict]) -> dict | None:
    for r in reasons:
        if r.get("side") not in (row["side"], "any"):
            continue
        if r.get("check") and not fnmatch.fnmatchcase(row["check"], r["check"]):
            continue
        if r.get("file") and not fnmatch.fnmatchcase(row["file"], r["file"]):
            continue
        if r.get("resource") and not fnmatch.fnmatchcase(row["resource"], r["resource"]):
            continue
        return r
    return None


# ----------------------------------------------------------------------------------------
# Comparison


def compare(ck_failed, ck_passed, st_findings, mapping, reasons):
    mapped = set(mapping) | {f["check"] for f in st_findings}
    rule_of = defaultdict(set)
    for ckv, rules in mapping.items():
        rule_of[ckv] |= rules
    for f in st_findings:
        rule_of[f["check"]].add(f["rule"])

    def key(x):
        return (x["file"], x["check"], x["resource"])

    ck = {key(c): c for c in ck_failed if c["check"] in mapped}
    st_reported = defaultdict(list)
    st_unknown = defaultdict(list)
    for f in st_findings:
        (st_unknown if f["outcome"] == "unknown" else st_reported)[key(f)].append(f)

    rows = []
    for k in sorted(set(ck) & set(st_reported)):
        rows.append({"side": "both", "file": k[0], "check": k[1], "resource": k[2],
                     "strata": sorted({f["msg"] for f in st_reported[k]})})
    only_ck = sorted(set(ck) - set(st_reported))
    only_st = sorted(set(st_reported) - set(ck))

    # A finding strata puts on a companion resource (aws_s3_bucket_acl.x) that Checkov puts
    # on the bucket (aws_s3_bucket.x): the same problem reported by both, if it is the only
    # pairing possible in that file for that check.
    def rtype(resource):
        return resource.split(".", 1)[0]

    moved = []
    for kc in list(only_ck):
        candidates = [
            ks for ks in only_st
            if ks[0] == kc[0] and ks[1] == kc[1] and "." in ks[2] and "." in kc[2]
            and rtype(ks[2]) != rtype(kc[2]) and rtype(ks[2]).startswith(rtype(kc[2]) + "_")
        ]
        if len(candidates) == 1:
            ks = candidates[0]
            moved.append((kc, ks))
            only_ck.remove(kc)
            only_st.remove(ks)
    # Checks Checkov reports on one object and strata on the object it is about: the VPC
    # whose default security group allows traffic (strata: that group), the pod a
    # Deployment creates and no NetworkPolicy selects (Checkov's graph names it
    # Pod/<name>.<label>; strata: the Deployment, StatefulSet or DaemonSet). Paired when it
    # is the only pairing possible in that file for that check.
    def workload_name(resource):
        return resource.split("/", 1)[-1].split(".", 1)[0]

    for kc in list(only_ck):
        if kc[1] not in ("CKV2_AWS_12", "CKV2_K8S_6"):
            continue
        candidates = [ks for ks in only_st if ks[0] == kc[0] and ks[1] == kc[1]]
        if kc[1] == "CKV2_K8S_6":
            candidates = [ks for ks in candidates if workload_name(ks[2]) == workload_name(kc[2])]
        if len(candidates) == 1:
            ks = candidates[0]
            moved.append((kc, ks))
            only_ck.remove(kc)
            only_st.remove(ks)
    for kc, ks in moved:
        rows.append({"side": "both_moved", "file": kc[0], "check": kc[1], "resource": kc[2],
                     "strata_resource": ks[2], "strata": sorted({f["msg"] for f in st_reported[ks]})})

    # Secret detectors: the same literal in the same block reported under different
    # CKV_SECRET ids (Checkov files keyword-named literals in IaC files under its entropy
    # ids). Counted as found by both, listed with both ids.
    relabelled = []
    for kc in list(only_ck):
        if not kc[1].startswith("CKV_SECRET_"):
            continue
        candidates = [ks for ks in only_st
                      if ks[0] == kc[0] and ks[2] == kc[2] and ks[1].startswith("CKV_SECRET_")]
        if candidates:
            ks = candidates[0]
            relabelled.append((kc, ks))
            only_ck.remove(kc)
            only_st.remove(ks)
    for kc, ks in relabelled:
        rows.append({"side": "both_relabelled", "file": kc[0], "check": kc[1], "resource": kc[2],
                     "strata_check": ks[1], "strata": sorted({f["msg"] for f in st_reported[ks]})})

    for k in only_ck:
        row = {"side": "only_checkov", "file": k[0], "check": k[1], "resource": k[2],
               "checkov_name": ck[k]["name"]}
        if k in st_unknown:
            row["strata_unknown"] = sorted({f["msg"] for f in st_unknown[k]})
        rows.append(row)
    for k in only_st:
        rows.append({"side": "only_strata", "file": k[0], "check": k[1], "resource": k[2],
                     "strata": sorted({f["msg"] for f in st_reported[k]})})

    for row in rows:
        row["rules"] = sorted(rule_of.get(row["check"], []))
        if row["side"].startswith("only_"):
            r = reason_for(row, reasons)
            row["reason"] = r["reason"] if r else None
            row["category"] = r.get("category", "") if r else ""
            row["defect"] = bool(r and r.get("defect"))

    # Corpus coverage: for every mapped Checkov id, files that violate it (either tool) and
    # files with a resource that satisfies it (Checkov passes it and strata is silent).
    coverage = {}
    flagged = set(ck) | set(st_reported)
    for ckv in sorted(mapped):
        violating = sorted({k[0] for k in flagged if k[1] == ckv})
        satisfying = sorted({
            p["file"] for p in ck_passed
            if p["check"] == ckv and key(p) not in st_reported
        })
        if ckv.startswith("CKV_SECRET_"):
            satisfying = None
        coverage[ckv] = {"rules": sorted(rule_of.get(ckv, [])), "violating": violating, "satisfying": satisfying}

    # What Checkov checks that the pack does not map.
    unmapped = Counter(c["check"] for c in ck_failed if c["check"] not in mapped)
    unmapped_names = {c["check"]: c["name"] for c in ck_failed if c["check"] not in mapped}
    unknowns = sorted({(f["file"], f["check"], f["resource"], f["msg"]) for fs in st_unknown.values() for f in fs})
    return rows, coverage, unmapped, unmapped_names, mapped, rule_of, unknowns


def summarise(rows, mapped, rule_of):
    per = defaultdict(Counter)
    for row in rows:
        # A secret filed under another id by Checkov counts for the strata rule that found it.
        per[row.get("strata_check", row["check"])][row["side"]] += 1
    table = []
    for ckv in sorted(mapped, key=lambda c: (sorted(rule_of.get(c, ["~"]))[0], c)):
        c = per.get(ckv, Counter())
        table.append({
            "rules": sorted(rule_of.get(ckv, [])),
            "check": ckv,
            "both": c["both"] + c["both_moved"] + c["both_relabelled"],
            "only_checkov": c["only_checkov"],
            "only_strata": c["only_strata"],
        })
    totals = {k: sum(r[k] for r in table) for k in ("both", "only_checkov", "only_strata")}
    return table, totals


# ----------------------------------------------------------------------------------------
# Machine and versions


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        info["cpu"] = m.group(1).strip() if m else ""
    except FileNotFoundError:
        info["cpu"] = platform.processor()
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (FileNotFoundError, ValueError):
        pass
    mem = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    m = re.search(r"MemTotal:\s*(\d+) kB", mem)
    info["memory_gib"] = round(int(m.group(1)) / 1024 / 1024, 1) if m else None
    return info


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


# ----------------------------------------------------------------------------------------
# Report


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def write_markdown(res: dict, path: Path) -> None:
    L = []
    meta = res["meta"]
    L.append("# strata built-in policy pack vs Checkov\n")
    L.append(f"Generated by `bench/compliance/compare.sh` on {meta['date']}. "
             f"Corpus: {meta['corpus_files']} files (`bench/compliance/corpus`).\n")
    L.append("| | |\n|---|---|")
    L.append(f"| Checkov | {meta['checkov_version']} (PyPI, virtualenv `bench/compliance/.venv`) |")
    L.append(f"| strata | commit `{meta['strata_commit']}`{' + uncommitted changes' if meta['strata_dirty'] else ''}, "
             f"built-in pack `{meta['pack_digest']}` |")
    L.append(f"| Python | {meta['python']} |")
    m = meta["machine"]
    L.append(f"| machine | {m['cpu']}, {m['nproc']} CPUs (nproc), {m['memory_gib']} GiB, Linux {m['kernel']} |")
    L.append("")
    t = res["totals"]
    L.append("## Totals (mapped Checkov ids only)\n")
    L.append("| both | only Checkov | only strata |\n|---:|---:|---:|")
    L.append(f"| {t['both']} | {t['only_checkov']} | {t['only_strata']} |\n")
    if res["moved"] or res["relabelled"]:
        L.append(f"`both` includes {res['moved']} finding(s) that the two tools attribute to different "
                 "resources (strata to a bucket's companion resource, a VPC's default security group or "
                 "a pod's Deployment, Checkov to the bucket, the VPC or the pod), and "
                 f"{res['relabelled']} secret(s) that they file under different CKV_SECRET ids (listed below).\n")
    L.append("## Per rule\n")
    L.append("| strata rule | Checkov id | both | only Checkov | only strata |\n|---|---|---:|---:|---:|")
    for r in res["per_rule"]:
        L.append(f"| {', '.join(r['rules'])} | {r['check']} | {r['both']} | {r['only_checkov']} | {r['only_strata']} |")
    L.append("")
    L.append("## Differences\n")
    diffs = [r for r in res["rows"] if r["side"].startswith("only_")]
    if not diffs:
        L.append("None.\n")
    else:
        cats = Counter((r["side"], r.get("category") or "unexplained") for r in diffs)
        L.append("| side | category | rows |\n|---|---|---:|")
        for (side, cat), n in sorted(cats.items()):
            L.append(f"| {side.replace('_', ' ').replace('checkov', 'Checkov')} | {cat} | {n} |")
        L.append("")
        L.append("| side | Checkov id | file | resource | category | reason |\n|---|---|---|---|---|---|")
        for r in diffs:
            side = "only Checkov" if r["side"] == "only_checkov" else "only strata"
            reason = r["reason"] or "**UNEXPLAINED**"
            if r.get("strata_unknown"):
                reason += " (strata reports it as unknown)"
            cat = f"**{r['category']}**" if r.get("defect") else (r.get("category") or "")
            L.append(f"| {side} | {r['check']} | `{r['file']}` | `{r['resource']}` | {cat} | {reason} |")
        L.append("")
    moved = [r for r in res["rows"] if r["side"] == "both_moved"]
    if moved:
        L.append("### Reported by both on different resources\n")
        L.append("| Checkov id | file | Checkov resource | strata resource |\n|---|---|---|---|")
        for r in moved:
            L.append(f"| {r['check']} | `{r['file']}` | `{r['resource']}` | `{r['strata_resource']}` |")
        L.append("")
    relab = [r for r in res["rows"] if r["side"] == "both_relabelled"]
    if relab:
        L.append("### Reported by both under different Checkov ids\n")
        L.append("| file | resource | Checkov id | strata's `checkov` |\n|---|---|---|---|")
        for r in relab:
            L.append(f"| `{r['file']}` | `{r['resource']}` | {r['check']} | {r['strata_check']} |")
        L.append("")
    L.append("## Wall time\n")
    tm = res["timing"]
    L.append(f"Median of {tm['runs']} runs each, same corpus, same machine, one after the other.\n")
    L.append("| command | runs | median |\n|---|---|---:|")
    for name, t in tm["results"].items():
        L.append(f"| {name}: `{t['command']}` | {', '.join(fmt_s(x) for x in t['runs_s'])} | {fmt_s(t['median_s'])} |")
    L.append("")
    L.append("| strata | Checkov IaC scan / strata | Checkov IaC + secrets / strata |\n|---|---:|---:|")
    for label, r in tm["speedup"].items():
        L.append(f"| {label} | {r['checkov_iac']:.1f}× | {r['checkov_iac_plus_secrets']:.1f}× |")
    L.append("")
    if tm.get("scaled"):
        sc = tm["scaled"]
        L.append(f"### {sc['copies']} copies of the corpus ({sc['files']} files)\n")
        L.append("| command | runs | median |\n|---|---|---:|")
        for name, t in sc["results"].items():
            L.append(f"| {name}: `{t['command']}` | {', '.join(fmt_s(x) for x in t['runs_s'])} | {fmt_s(t['median_s'])} |")
        L.append("")
        st = next(t for n, t in sc["results"].items() if n.startswith("strata"))["median_s"]
        ck = sc["results"]["checkov (terraform,kubernetes)"]["median_s"]
        ck2 = ck + sc["results"]["checkov (secrets)"]["median_s"]
        L.append(f"Checkov IaC scan / strata: **{ck / st:.1f}×**; Checkov IaC + secrets / strata: **{ck2 / st:.1f}×**.\n")
    L.append("## Corpus coverage of mapped Checkov ids\n")
    L.append("| Checkov id | strata rule | violating files | satisfying files |\n|---|---|---:|---:|")
    for ckv, c in res["coverage"].items():
        sat = "n/a" if c["satisfying"] is None else len(c["satisfying"])
        L.append(f"| {ckv} | {', '.join(c['rules'])} | {len(c['violating'])} | {sat} |")
    gaps = [k for k, c in res["coverage"].items()
            if not c["violating"] or (c["satisfying"] is not None and not c["satisfying"])]
    L.append("")
    L.append("A satisfying file holds a resource that Checkov evaluates for the check and passes, "
             "with no strata finding for it. Checkov's secrets framework reports no passes (n/a); "
             "corpus/README.md names the clean counterparts of the secret cases.\n")
    L.append(f"Ids without a violating and a satisfying file: {', '.join(gaps) if gaps else 'none'}.\n")
    L.append("## Checkov checks without a strata rule\n")
    un = res["unmapped_checkov"]
    L.append(f"{len(un)} distinct Checkov check ids failed on the corpus that no strata rule maps "
             f"({sum(x['count'] for x in un)} failed checks).\n")
    cat = res.get("checkov_catalogue")
    if cat and cat["ids"]:
        L.append(f"Checkov {meta['checkov_version']} lists {cat['ids']} check ids for the terraform, "
                 f"kubernetes and secrets frameworks ({cat['ids_aws_gcp_azure_k8s_secrets_tf']} of them "
                 f"for AWS, GCP, Azure, Kubernetes, secrets and Terraform modules); strata's pack maps "
                 f"{cat['mapped_by_strata']}.\n")
    L.append("| Checkov id | failures | name |\n|---|---:|---|")
    for x in un:
        L.append(f"| {x['check']} | {x['count']} | {x['name']} |")
    L.append("")
    if res["strata_unknown"]:
        L.append("## strata unknown results (not counted)\n")
        for u in res["strata_unknown"]:
            L.append(f"- {u['check']} `{u['file']}` `{u['resource']}`: {u['msg']}")
        L.append("")
    path.write_text("\n".join(L))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkov", required=True, help="checkov executable")
    ap.add_argument("--strata", action="append", required=True,
                    help="LABEL=PATH of a strata binary; the first one's output is compared")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reasons", default=str(HERE / "reasons.toml"))
    ap.add_argument("--scale", type=int, default=10,
                    help="also time both tools on N copies of the corpus (0: skip)")
    ap.add_argument("--no-run", action="store_true", help="compare the outputs already in out/")
    args = ap.parse_args()

    OUT.mkdir(exist_ok=True)
    env = clean_env()
    checkov = os.path.relpath(args.checkov, HERE)
    # The IaC scan, exactly as a team would run it on Terraform and Kubernetes files.
    checkov_cmd = [checkov, "-d", "corpus", "--framework", "terraform,kubernetes",
                   "-o", "json", "--quiet", "--skip-download"]
    # strata's Terraform pack also maps secret detectors (CKV_SECRET_*), which belong to
    # Checkov's separate secrets framework: a second scan, timed on its own.
    secrets_cmd = [checkov, "-d", "corpus", "--framework", "secrets",
                   "-o", "json", "--quiet", "--skip-download"]
    stratas = [s.split("=", 1) for s in args.strata]
    # The built-in pack alone (this repository's own workspace policies are not compared).
    scan = ["policy", "scan", "--policy", "builtin", "--json", "bench/compliance/corpus"]
    no_cache = ["policy", "scan", "--no-cache", *scan[2:]]

    timing = {"runs": args.runs, "results": {}, "speedup": {}}
    if not args.no_run:
        # Findings: without --quiet, so that the JSON also lists the passed checks (used for
        # the corpus coverage); the timed runs below check that --quiet fails the same ones.
        for name, cmd in (("checkov.json", checkov_cmd), ("checkov-secrets.json", secrets_cmd)):
            print(f"checkov: collecting findings ({name})", file=sys.stderr)
            _, out = run([c for c in cmd if c != "--quiet"], HERE, env)
            (OUT / name).write_text(out)
        label, binary = stratas[0]
        print(f"strata ({label}): collecting findings", file=sys.stderr)
        _, out = run([binary, *scan], ROOT, env)
        (OUT / "strata.json").write_text(out)
        _, rules = run([binary, "--json", "policy", "rules"], ROOT, env, ok_codes=(0,))
        (OUT / "strata-rules.json").write_text(rules)

        # Checkov's catalogue for the same frameworks, to say how much of it the pack maps.
        _, listing = run([checkov, "--list", "--skip-download", "--framework", "terraform", "kubernetes",
                          "secrets"], HERE, env, ok_codes=(0,))
        (OUT / "checkov-list.txt").write_text(listing)

        print("timing", file=sys.stderr)
        for name, cmd, full in (("checkov (terraform,kubernetes)", checkov_cmd, "checkov.json"),
                                ("checkov (secrets)", secrets_cmd, "checkov-secrets.json")):
            timing["results"][name], out = timed(name, cmd, HERE, env, args.runs)
            if failed_set(out) != failed_set((OUT / full).read_text()):
                raise SystemExit(f"{name}: --quiet changed the failed checks")
        for label, binary in stratas:
            rel = os.path.relpath(binary, ROOT)
            run([binary, *scan], ROOT, env)  # fill strata's parsed-file cache
            timing["results"][f"strata {label}, warm cache"], _ = timed(
                f"strata {label} warm", [rel, *scan], ROOT, env, args.runs)
            timing["results"][f"strata {label}, --no-cache"], _ = timed(
                f"strata {label} no-cache", [rel, *no_cache], ROOT, env, args.runs)
        if args.scale > 0:
            # Throughput: N copies of the corpus, one directory each (no Checkov module
            # spans two copies). Release binary only.
            scaled = OUT / "scaled"
            shutil.rmtree(scaled, ignore_errors=True)
            for i in range(1, args.scale + 1):
                shutil.copytree(CORPUS, scaled / f"copy{i:02d}", ignore=shutil.ignore_patterns("*.md"))
            n = sum(1 for p in scaled.rglob("*") if p.is_file())
            timing["scaled"] = {"copies": args.scale, "files": n, "results": {}}
            rel_scaled = os.path.relpath(scaled, HERE)
            sc = timing["scaled"]["results"]
            sc["checkov (terraform,kubernetes)"], _ = timed(
                f"checkov x{args.scale}", [c if c != "corpus" else rel_scaled for c in checkov_cmd], HERE, env, args.runs)
            sc["checkov (secrets)"], _ = timed(
                f"checkov secrets x{args.scale}", [c if c != "corpus" else rel_scaled for c in secrets_cmd], HERE, env, args.runs)
            label, binary = stratas[0]
            rel = os.path.relpath(binary, ROOT)
            sscan = [*no_cache[:-1], os.path.relpath(scaled, ROOT)]
            sc[f"strata {label}, --no-cache"], _ = timed(f"strata {label} x{args.scale}", [rel, *sscan], ROOT, env, args.runs)
            shutil.rmtree(scaled, ignore_errors=True)
        ck = timing["results"]["checkov (terraform,kubernetes)"]["median_s"]
        ck_all = ck + timing["results"]["checkov (secrets)"]["median_s"]
        timing["checkov_iac_s"] = ck
        timing["checkov_iac_plus_secrets_s"] = round(ck_all, 4)
        for name, t in timing["results"].items():
            if name.startswith("strata"):
                timing["speedup"][name] = {
                    "checkov_iac": round(ck / t["median_s"], 2),
                    "checkov_iac_plus_secrets": round(ck_all / t["median_s"], 2),
                }
        (OUT / "timing.json").write_text(json.dumps(timing, indent=2))
    else:
        timing = json.loads((OUT / "timing.json").read_text())

    ck_failed, ck_passed, ck_version = load_checkov(
        [(OUT / n).read_text() for n in ("checkov.json", "checkov-secrets.json")])
    st_findings, st_raw = load_strata(OUT / "strata.json")
    if st_raw.get("errors"):
        print(f"strata reported errors: {st_raw['errors']}", file=sys.stderr)
    mapping = pack_mapping()
    reasons = load_reasons(Path(args.reasons))
    rows, coverage, unmapped, unmapped_names, mapped, rule_of, unknowns = compare(
        ck_failed, ck_passed, st_findings, mapping, reasons)
    table, totals = summarise(rows, mapped, rule_of)

    catalogue = sorted({m.group() for m in CKV_RE.finditer((OUT / "checkov-list.txt").read_text())}) \
        if (OUT / "checkov-list.txt").exists() else []
    corpus_prefixes = ("CKV_AWS_", "CKV2_AWS_", "CKV_GCP_", "CKV2_GCP_", "CKV_AZURE_", "CKV2_AZURE_",
                       "CKV_K8S_", "CKV2_K8S_", "CKV_SECRET_", "CKV_TF_")
    corpus_files = [p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".tf", ".yaml", ".yml")]
    res = {
        "meta": {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "checkov_version": ck_version,
            "strata_commit": git("rev-parse", "--short=12", "HEAD"),
            "strata_dirty": bool(git("status", "--porcelain", "--", "cli", "crates/policy", "shared")),
            "pack_digest": pack_digest(),
            "python": platform.python_version(),
            "machine": machine(),
            "corpus_files": len(corpus_files),
            "corpus_terraform": sum(1 for p in corpus_files if p.suffix == ".tf"),
            "corpus_kubernetes": sum(1 for p in corpus_files if p.suffix != ".tf"),
            "strata_files_scanned": st_raw.get("files"),
            "strata_errors": st_raw.get("errors"),
        },
        "totals": totals,
        "moved": sum(1 for r in rows if r["side"] == "both_moved"),
        "relabelled": sum(1 for r in rows if r["side"] == "both_relabelled"),
        "per_rule": table,
        "rows": rows,
        "unexplained": [r for r in rows if r["side"].startswith("only_") and not r["reason"]],
        # Reasons that explain no row any more (the difference is gone): remove them.
        "unused_reasons": [
            {k: r.get(k) for k in ("side", "check", "file", "resource")}
            for r in reasons
            if not any(row["side"].startswith("only_") and reason_for(row, [r]) for row in rows)
        ],
        "defects": [r for r in rows if r.get("defect")],
        "timing": timing,
        "coverage": coverage,
        "checkov_catalogue": {
            "ids": len(catalogue),
            "ids_aws_gcp_azure_k8s_secrets_tf": sum(1 for c in catalogue if c.startswith(corpus_prefixes)),
            "mapped_by_strata": len(mapped),
        },
        "unmapped_checkov": [
            {"check": c, "count": n, "name": unmapped_names[c]}
            for c, n in sorted(unmapped.items(), key=lambda x: (-x[1], x[0]))
        ],
        "strata_unknown": [
            {"file": f, "check": c, "resource": r, "msg": m} for f, c, r, m in unknowns
        ],
    }
    (OUT / "results.json").write_text(json.dumps(res, indent=2))
    write_markdown(res, OUT / "results.md")

    print(f"both {totals['both']}, only Checkov {totals['only_checkov']}, only strata {totals['only_strata']}"
          f"; unexplained {len(res['unexplained'])}; unused reasons {len(res['unused_reasons'])}"
          f"; unmapped Checkov ids fired {len(unmapped)}")
    for name, r in timing["speedup"].items():
        print(f"Checkov / {name}: {r['checkov_iac']:.1f}x (IaC scan), {r['checkov_iac_plus_secrets']:.1f}x (IaC + secrets)")
    print(f"wrote {os.path.relpath(OUT / 'results.md', ROOT)} and results.json")


if __name__ == "__main__":
    main()
