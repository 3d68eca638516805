#!/usr/bin/env python3
"""Generate a workspace for benchmarking `strata promote plan`.

    python3 bench/gen_promotion.py --out DIR [--stacks 1000] [--seed 42] [--now EPOCH]
                                   [--signers FILE] [--author EMAIL] [--meta FILE]

The output is a git repository (branch `main`, one commit with fixed author, committer and
dates) shaped like an infrastructure monorepo:

* a few foundation stacks (`iam-baseline`, `kms-keys`, `dns-root`, `log-archive`, one
  `network-<region>` per region, `transit-hub`), with dependencies among themselves;
* platform stacks per region (`eks-<region>-a`, `postgres-<region>-2`, `kafka-<region>`,
  `ingress-<region>`, ...) on their region's network and one or two foundation stacks;
* services (`payments-api`, `search-indexer-us-east-1`, ...) on 1-3 platform or foundation
  stacks (a few on 4-5), and about 15% dependent services that also read 1-2 other
  services, sometimes chains of them;
* about 40 modules in layers (stacks use 1-3), `terraform.tfvars` per stack in dev,
  staging and prod, and a few dev-only stacks (`environments = ["dev"]`).

Beside the code it writes the two release locks a promotion compares, as `strata apply`
would have left them (see crates/release/src/lock.rs):

* `environments/dev/release.lock.toml`: one entry per stack (all of them);
* `environments/staging/release.lock.toml`: about 70% of the stacks at dev's hash, about
  25% at an older hash (some with an older dependency list), about 5% missing (new stacks:
  whatever depends on one is not at dev's hash in staging either), and a few stacks deleted
  from the repository but still in staging (destroy candidates; two of them still read by
  a staging entry whose new version is held back, and one of those reads a third).

Dev entries that differ from staging carry the gates' inputs: a few with a `high` or
`critical` policy finding (staging allows at most `medium`), a few applied minutes before
`--now` (inside staging's 30m soak), a few whose test did not run, and one platform stack
and one foundation stack held back on purpose, so blocks travel up to their dependents.

`--meta` gets a JSON summary, including the plan the generator expects strata to make
(unchanged, steps, waves, blocked by gate), computed here independently of strata.
"""

import argparse
import calendar
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Strata Bench",
    "GIT_AUTHOR_EMAIL": "bench@strata.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "Strata Bench",
    "GIT_COMMITTER_EMAIL": "bench@strata.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+0000",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2"]
PRIMARY = ["eu-west-1", "us-east-1"]  # most services live here

DOMAINS = [
    "payments", "billing", "checkout", "cart", "orders", "catalog", "inventory", "pricing",
    "search", "recommendations", "reviews", "shipping", "returns", "identity", "auth",
    "profile", "notifications", "email", "sms", "ledger", "risk", "fraud", "media",
    "thumbnails", "analytics", "reporting", "audit", "feature-flags", "experiments",
    "loyalty", "coupons", "tax", "invoicing", "subscriptions", "support", "chat", "geo",
    "maps", "partner", "vendor", "warehouse", "fulfilment", "content", "cms", "i18n",
    "sessions", "gateway", "webhooks", "exports", "imports", "scheduler", "ml-features",
    "ml-serving", "data-lake", "etl", "streaming", "kyc", "compliance", "onboarding",
]
COMPONENTS = [
    "api", "api", "api", "worker", "worker", "consumer", "db", "cache", "queue", "cron",
    "indexer", "frontend", "bff", "events", "store", "sync", "batch", "admin", "grpc",
    "stream", "archive", "replica",
]
# Platform kinds per region: (name pattern, how many per region in the primary regions,
# elsewhere, extra foundation deps it may take).
PLATFORM = [
    ("eks-{r}-{i}", 3, 1, ["iam-baseline", "kms-keys"]),
    ("postgres-{r}-{i}", 4, 1, ["kms-keys"]),
    ("redis-{r}-{i}", 2, 1, []),
    ("kafka-{r}", 1, 1, ["kms-keys"]),
    ("dns-zone-{r}", 1, 1, ["dns-root"]),
    ("vault-{r}", 1, 0, ["kms-keys", "iam-baseline"]),
    ("observability-{r}", 1, 1, ["log-archive"]),
    ("bastion-{r}", 1, 0, ["iam-baseline"]),
    ("s3-buckets-{r}", 1, 1, ["kms-keys", "log-archive"]),
]
MODULE_NAMES = [
    # layer 0
    "tags", "naming", "iam-role", "kms-key", "s3-bucket", "security-group", "cloudwatch-alarms",
    "secrets", "sns-topic", "sqs-queue", "ecr-repository", "route53-record",
    # layer 1
    "vpc", "subnets", "nat-gateway", "rds-postgres", "elasticache-redis", "msk-kafka",
    "route53-zone", "alb", "waf", "cloudfront", "lambda-function", "dynamodb-table",
    "k8s-namespace", "irsa", "opensearch",
    # layer 2
    "eks-cluster", "service", "worker", "cron-job", "static-site", "data-pipeline",
    "event-bus", "api-gateway", "vault-cluster", "bastion-host",
]
LAYER_OF_MODULE = {m: (0 if i < 12 else 1 if i < 27 else 2) for i, m in enumerate(MODULE_NAMES)}
PEOPLE = ["alice@example.com", "bob@example.com", "carol@example.com",
          "dave@example.com", "erin@example.com"]
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
STAGING_MAX_SEVERITY = "medium"
SOAK_SECS = 30 * 60
REQUIRE = ["plan", "policy", "test"]

WORKSPACE_TOML = """# Generated by bench/gen_promotion.py: an infrastructure monorepo with a release train.
[workspace]
name = "promotion-bench"
default_branch = "main"
global_inputs = ["WORKSPACE.toml"]
ignore = ["**/*.md"]

[toolchain]
terraform = "1.0.3"
helm = "4.1.4"
"""

ENV_TOML = {
    "dev": """# Development: every merge to main deploys here straight away.

[gates]
require = ["plan", "policy", "test"]
max_severity = "high"
approvals = 0
soak = "0m"

[state]
backend = "local"
""",
    "staging": """# Staging: production-like; receives exactly what passed in dev.
promotes_from = "dev"

[gates]
require = ["plan", "policy", "test"]
max_severity = "medium"
approvals = 1
soak = "30m"

[state]
backend = "local"
""",
    "prod": """# Production: promoted from staging after a soak, with two approvals.
promotes_from = "staging"

[gates]
require = ["plan", "policy", "test"]
max_severity = "medium"
approvals = 2
soak = "2h"

[state]
backend = "local"
""",
}

GITIGNORE = ".strata/\n.terraform/\n*.tfstate\n*.tfstate.backup\n"


def ident(name):
    return name.replace("-", "_")


def hexdigest(*parts, n=64):
    h = hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()
    return h[:n]


def utc(secs):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))


# --- the graph ------------------------------------------------------------------------------


class Graph:
    def __init__(self, n, rng):
        self.rng = rng
        self.stacks = []  # dicts: name, layer, deps (names), uses (modules), region
        self.by_name = {}
        self.build(n)

    def add(self, name, layer, deps, region=None, envs=None):
        assert name not in self.by_name, name
        s = {"name": name, "layer": layer, "deps": list(dict.fromkeys(deps)),
             "region": region, "envs": envs}
        self.stacks.append(s)
        self.by_name[name] = s
        return s

    def build(self, n):
        rng = self.rng
        # Foundation: depth up to 2 among themselves.
        self.add("iam-baseline", 0, [])
        self.add("dns-root", 0, [])
        self.add("kms-keys", 0, ["iam-baseline"])
        self.add("log-archive", 0, ["kms-keys", "iam-baseline"])
        for r in REGIONS:
            self.add(f"network-{r}", 0, ["iam-baseline"], region=r)
        self.add("transit-hub", 0, [f"network-{r}" for r in REGIONS[:3]] + ["dns-root"])
        foundation = [s["name"] for s in self.stacks]

        # Platform, per region.
        platform_by_region = {r: [] for r in REGIONS}
        for r in REGIONS:
            for pattern, primary, other, extra in PLATFORM:
                count = primary if r in PRIMARY else other
                for i in range(1, count + 1):
                    name = pattern.format(r=r, i=i if "{i}" in pattern else "")
                    deps = [f"network-{r}"]
                    if extra:
                        deps += rng.sample(extra, rng.randint(1, len(extra)))
                    self.add(name, 1, deps, region=r)
                    platform_by_region[r].append(name)
            # Ingress on the region's first cluster and zone.
            name = f"ingress-{r}"
            self.add(name, 1, [f"eks-{r}-1", f"dns-zone-{r}"], region=r)
            platform_by_region[r].append(name)

        remaining = n - len(self.stacks)
        n_dependent = int(remaining * 0.15)
        n_services = remaining - n_dependent
        n_dev_only = 4
        used = set(self.by_name)

        def service_name():
            while True:
                d, c = rng.choice(DOMAINS), rng.choice(COMPONENTS)
                roll = rng.random()
                if roll < 0.55:
                    name = f"{d}-{c}"
                elif roll < 0.85:
                    name = f"{d}-{c}-{rng.choice(REGIONS)}"
                else:
                    name = f"{d}-{c}-v{rng.randint(2, 4)}"
                if name not in used:
                    used.add(name)
                    return name

        def platform_deps(region, k):
            pool = platform_by_region[region]
            # Clusters and databases are read most.
            weights = [5 if p.startswith(("eks", "postgres")) else
                       3 if p.startswith(("redis", "kafka", "dns-zone", "ingress")) else 1
                       for p in pool]
            out = []
            while len(out) < min(k, len(pool)):
                p = rng.choices(pool, weights)[0]
                if p not in out:
                    out.append(p)
            return out

        services = []
        for i in range(n_services):
            name = service_name()
            region = next((r for r in REGIONS if name.endswith(r)), None) or \
                rng.choices(REGIONS, [4, 1, 4, 1, 1])[0]
            k = rng.choices([1, 2, 3, 4, 5], [30, 42, 23, 4, 1])[0]
            deps = platform_deps(region, k)
            if rng.random() < 0.12:  # a foundation stack read directly
                deps.append(rng.choice(["kms-keys", "log-archive", f"network-{region}",
                                        "dns-root", "iam-baseline"]))
            envs = None
            if i < n_dev_only:  # sandboxes that never leave dev
                name2 = f"sandbox-{name}"
                used.add(name2)
                name, envs = name2, ["dev"]
            s = self.add(name, 2, deps, region=region, envs=envs)
            if envs is None:
                services.append(s)

        # Dependent services: read 1-2 services (same domain preferred), maybe other
        # dependent services (chains), and 0-2 platform stacks.
        dependents = []
        for i in range(n_dependent):
            name = service_name()
            region = next((r for r in REGIONS if name.endswith(r)), None) or \
                rng.choices(REGIONS, [4, 1, 4, 1, 1])[0]
            domain = name.split("-")[0]
            same = [s for s in services if s["name"].startswith(domain + "-")]
            k = rng.choices([1, 2], [65, 35])[0]
            deps = []
            for _ in range(k):
                pool = same if same and rng.random() < 0.6 else services
                deps.append(rng.choice(pool)["name"])
            if dependents and rng.random() < 0.35:
                deps.append(rng.choice(dependents[-60:])["name"])
            deps += platform_deps(region, rng.choices([0, 1, 2], [40, 45, 15])[0])
            dependents.append(self.add(name, 3, deps, region=region))

        # Modules each stack uses.
        for s in self.stacks:
            pool = [m for m in MODULE_NAMES if LAYER_OF_MODULE[m] >= 1]
            s["uses"] = rng.sample(pool, rng.randint(1, 3))

    def edges(self):
        return sum(len(s["deps"]) for s in self.stacks)

    def depth(self):
        d = {}
        for s in self.stacks:  # stacks are in dependency order
            d[s["name"]] = 1 + max((d[x] for x in s["deps"]), default=-1)
        return d


# --- files ----------------------------------------------------------------------------------


def module_files(m, rng):
    lower = [x for x in MODULE_NAMES if LAYER_OF_MODULE[x] < LAYER_OF_MODULE[m]]
    uses = rng.sample(lower, rng.randint(0, 2)) if lower else []
    main = [f'locals {{\n  full_name = "${{var.name}}-{m}"\n}}\n']
    for u in uses:
        main.append(f'module "{ident(u)}" {{\n  source = "../{u}"\n\n'
                    f'  name = local.full_name\n  tags = var.tags\n}}\n')
    triggers = ['    name = local.full_name'] + [
        f'    {ident(u)} = module.{ident(u)}.id' for u in uses]
    main.append(f'resource "null_resource" "this" {{\n  triggers = {{\n'
                + "\n".join(triggers) + "\n  }\n}\n")
    variables = ('variable "name" {\n  type = string\n}\n\n'
                 'variable "tags" {\n  type    = map(string)\n  default = {}\n}\n')
    outputs = 'output "id" {\n  value = null_resource.this.id\n}\n'
    return {"main.tf": "\n".join(main), "variables.tf": variables, "outputs.tf": outputs}


def stack_files(s):
    name = s["name"]
    main = [f'''locals {{
  name = "${{var.environment}}-{name}"
  tags = {{
    Stack       = "{name}"
    Environment = var.environment
    ManagedBy   = "strata"
  }}
}}
''']
    for u in s["uses"]:
        main.append(f'''module "{ident(u)}" {{
  source = "../../modules/{u}"

  name = "${{local.name}}-{u}"
  tags = local.tags
}}
''')
    triggers = ["    name   = local.name", "    region = var.region"]
    triggers += [f"    {ident(d)} = var.{ident(d)}_id" for d in s["deps"]]
    triggers += [f"    {ident(u)} = module.{ident(u)}.id" for u in s["uses"]]
    main.append('resource "null_resource" "this" {\n  triggers = {\n'
                + "\n".join(triggers) + "\n  }\n}\n")
    variables = [
        'variable "environment" {\n  description = "dev, staging or prod."\n  type        = string\n}\n',
        f'variable "region" {{\n  type    = string\n  default = "{s["region"] or "eu-west-1"}"\n}}\n',
    ]
    variables += [f'variable "{ident(d)}_id" {{\n  description = "From stacks/{d}."\n'
                  f'  type        = string\n}}\n' for d in s["deps"]]
    outputs = ('output "id" {\n  value = null_resource.this.id\n}\n\n'
               'output "name" {\n  value = local.name\n}\n')
    versions = ('terraform {\n  required_version = ">= 1.0.0"\n\n  required_providers {\n'
                '    null = {\n      source  = "hashicorp/null"\n      version = "2.1.2"\n'
                '    }\n  }\n}\n')
    toml = [f"# {name}: layer {s['layer']} stack."]
    toml.append("deps = [" + ", ".join(f'"stacks/{d}"' for d in s["deps"]) + "]")
    if s["envs"]:
        toml.append("environments = [" + ", ".join(f'"{e}"' for e in s["envs"]) + "]")
    if s["deps"]:
        toml.append("\n[inputs]")
        toml += [f'{ident(d)}_id = "stacks/{d}:id"' for d in s["deps"]]
    return {
        "main.tf": "\n".join(main),
        "variables.tf": "\n".join(variables),
        "outputs.tf": outputs,
        "versions.tf": versions,
        "stack.toml": "\n".join(toml) + "\n",
    }


def tfvars(env, s):
    count = {"dev": 1, "staging": 2, "prod": 3}[env]
    return f'environment = "{env}"\ninstance_count = {count}\n'


# --- locks ----------------------------------------------------------------------------------


def toml_str(v):
    return json.dumps(v)  # TOML basic strings accept JSON's escapes for these values


def render_lock(env, entries):
    out = [f"# The release lock of {env}: what is deployed there, from which commit, and how it",
           "# was verified. Written by `strata apply` and `strata promote apply`; do not edit.",
           "", "version = 1"]
    for label in sorted(entries):
        e = entries[label]
        out.append("")
        out.append(f'[targets."{label}"]')
        for key in ("kind", "hash", "commit", "applied_at", "applied_by", "promoted_from"):
            if e.get(key) is not None:
                out.append(f"{key} = {toml_str(e[key])}")
        out.append("deps = [" + ", ".join(toml_str(d) for d in e["deps"]) + "]")
        if e.get("max_severity"):
            out.append(f"max_severity = {toml_str(e['max_severity'])}")
        out.append("")
        out.append(f'[targets."{label}".checks]')
        for k in sorted(e["checks"]):
            out.append(f"{k} = {toml_str(e['checks'][k])}")
    return "\n".join(out) + "\n"


def make_locks(g, rng, now):
    """dev and staging lock entries, and what the generator did (for the summary)."""
    commits = [hexdigest("commit", i, n=40) for i in range(80)]  # newest last
    promotable = [s for s in g.stacks if s["envs"] is None]
    labels = {s["name"]: f"stacks/{s['name']}" for s in g.stacks}

    # Staging's state per stack: same, differ, missing. New (missing) stacks are services.
    state = {}
    for s in promotable:
        roll = rng.random()
        if s["layer"] >= 2 and roll < 0.05:
            state[s["name"]] = "missing"
        elif roll < 0.28:
            state[s["name"]] = "differ"
        else:
            state[s["name"]] = "same"
    # Held back on purpose: one platform stack (soak) and one foundation stack (finding).
    held_soak, held_sev = "eks-eu-west-1-2", "log-archive"
    state[held_soak] = state[held_sev] = "differ"
    # What reads a stack new to staging cannot already be at dev's hash there.
    for s in promotable:
        if state[s["name"]] == "same" and any(state.get(d) == "missing" for d in s["deps"]):
            state[s["name"]] = "differ"

    dev, stg = {}, {}
    for s in g.stacks:
        name, label = s["name"], labels[s["name"]]
        st = state.get(name, "dev-only")
        deps = [labels[d] for d in s["deps"]]
        tested = rng.random() < 0.4
        checks = {"plan": "passed", "policy": "passed" if rng.random() < 0.9 else "none",
                  "test": "passed" if tested else "none"}
        sev = rng.choices([None, "info", "low", "medium", "high", "critical"],
                          [55, 12, 15, 12, 5, 1])[0]
        if st in ("same", "dev-only"):
            applied = now - rng.randint(2 * 86400, 60 * 86400)
            commit = rng.choice(commits[:60])
            if sev in ("high", "critical"):
                sev = "medium"  # it passed the gates when it was promoted
        else:
            roll = rng.random()
            if roll < 0.07:
                applied = now - rng.randint(3 * 60, 20 * 60)  # inside the 30m soak
            else:
                applied = now - rng.randint(45 * 60, 3 * 86400)
            commit = rng.choice(commits[60:])
            if rng.random() < 0.015:
                del checks["test"]  # the test did not run for this hash
        if name == held_soak:
            applied, sev = now - 8 * 60, None
        if name == held_sev:
            applied, sev = now - 26 * 3600, "high"
        dev[label] = {
            "kind": "stack", "hash": hexdigest("hash", name, "new"),
            "commit": commit, "applied_at": utc(applied),
            "applied_by": rng.choice(PEOPLE), "deps": deps, "checks": checks,
            "max_severity": sev,
        }
        if st in ("same", "differ"):
            old = st == "differ"
            e = dict(dev[label])
            e["checks"] = {"plan": "passed", "policy": checks["policy"], "test": checks["test"]
                           if "test" in checks else "passed"}
            e["promoted_from"] = "dev"
            e["applied_by"] = rng.choice(PEOPLE[:3])
            if old:
                e["hash"] = hexdigest("hash", name, "old")
                e["commit"] = rng.choice(commits[:60])
                e["applied_at"] = utc(now - rng.randint(4 * 86400, 90 * 86400))
                e["max_severity"] = rng.choice([None, "low", "medium"])
                # The old version did not read stacks new to staging; now and then it read
                # one dependency fewer.
                e["deps"] = [d for d in deps if state.get(d[len("stacks/"):]) != "missing"]
                if len(e["deps"]) > 1 and rng.random() < 0.1:
                    e["deps"] = e["deps"][:-1]
            else:
                e["applied_at"] = utc(min(now - 3600, applied + rng.randint(3600, 5 * 86400)))
            stg[label] = e

    # Destroy candidates: deleted from the repository, still in staging.
    gone = ["legacy-billing-api", "elasticsearch-eu-west-1", "monolith-db", "old-search-indexer",
            "classic-lb-us-east-1", "memcached-eu-west-1"]
    # Two of them are still read, in staging, by stacks whose new version (without the
    # dependency) is held back in dev by its soak; the first of them reads a third one,
    # which is then held back with it.
    readers = [s["name"] for s in promotable
               if state[s["name"]] == "differ" and s["layer"] >= 2][:2]
    for i, name in enumerate(gone):
        label = f"stacks/{name}"
        stg[label] = {
            "kind": "stack", "hash": hexdigest("hash", name, "gone"),
            "commit": rng.choice(commits[:40]),
            "applied_at": utc(now - rng.randint(100 * 86400, 300 * 86400)),
            "applied_by": rng.choice(PEOPLE[:3]), "promoted_from": "dev",
            "deps": [labels["network-eu-west-1"]] + (
                ["stacks/monolith-db"] if name == "legacy-billing-api" else []),
            "checks": dict.fromkeys(REQUIRE, "passed"),
            "max_severity": None,
        }
        if i < len(readers):
            r = labels[readers[i]]
            stg[r]["deps"] = sorted(stg[r]["deps"] + [label])
            dev[r]["applied_at"] = utc(now - 11 * 60)
    return dev, stg, state, gone


def expected_plan(g, dev, stg, now):
    """The plan strata should make (crates/release/src/plan.rs), computed independently."""
    deploys_in_staging = {f"stacks/{s['name']}": s["envs"] is None or "staging" in s["envs"]
                          for s in g.stacks}
    in_graph = set(deploys_in_staging)
    unchanged, candidates = 0, {}
    for label, e in dev.items():
        if not deploys_in_staging.get(label, True):
            continue
        if label in stg and stg[label]["hash"] == e["hash"]:
            unchanged += 1
        else:
            candidates[label] = e
    blocked = {}
    for label, e in candidates.items():
        missing = [a for a in REQUIRE if e["checks"].get(a) not in ("passed", "none")]
        sev = e.get("max_severity")
        applied = calendar.timegm(time.strptime(e["applied_at"], "%Y-%m-%dT%H:%M:%SZ"))
        if missing:
            blocked[label] = "require"
        elif sev and SEVERITY_RANK[sev] > SEVERITY_RANK[STAGING_MAX_SEVERITY]:
            blocked[label] = "max_severity"
        elif now < applied + SOAK_SECS:
            blocked[label] = "soak"
    direct = dict(blocked)
    changed = True
    while changed:
        changed = False
        for label, e in candidates.items():
            if label in blocked:
                continue
            if any(d in blocked or (d not in candidates and d not in stg) for d in e["deps"]):
                blocked[label] = "dependency"
                changed = True
    promoting = {l: e for l, e in candidates.items() if l not in blocked}
    depth = {}

    def d(label):
        if label not in depth:
            depth[label] = 1 + max((d(x) for x in promoting[label]["deps"] if x in promoting),
                                   default=-1)
        return depth[label]

    for label in promoting:
        d(label)
    gone = [l for l in stg if l not in dev and (l not in in_graph)]
    # A gone target still read by what stays is held back, and then stays itself, so what
    # it reads is held back too.
    held = set()
    while True:
        staying_deps = [promoting[l]["deps"] if l in promoting else e["deps"]
                        for l, e in stg.items() if l not in gone or l in held]
        staying_deps += [e["deps"] for e in promoting.values()]
        more = {l for l in gone if l not in held and any(l in deps for deps in staying_deps)}
        if not more:
            break
        held |= more
    for label in gone:
        blocked[label] = "dependency" if label in held else "destroy"
    by_gate = {}
    for gate in blocked.values():
        by_gate[gate] = by_gate.get(gate, 0) + 1
    return {
        "unchanged": unchanged,
        "candidates": len(candidates),
        "steps": len(promoting),
        "waves": 1 + max(depth.values(), default=-1),
        "blocked": len(blocked),
        "blocked_directly": len(direct),
        "blocked_by_gate": dict(sorted(by_gate.items())),
    }


# --- main -----------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--stacks", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--now", type=int, default=int(time.time()),
                    help="seconds since the epoch the locks' times are relative to")
    ap.add_argument("--signers", help="allowed_signers file to copy into environments/")
    ap.add_argument("--author", default="alice@example.com",
                    help="git user.email of the repository (the plan's author)")
    ap.add_argument("--meta", help="write a JSON summary here")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args()
    if args.stacks < 200:
        sys.exit("--stacks must be at least 200")
    if os.path.exists(args.out):
        if not args.force:
            sys.exit(f"{args.out} exists (use --force)")
        shutil.rmtree(args.out)

    rng = random.Random(args.seed)
    g = Graph(args.stacks, rng)
    files = {"WORKSPACE.toml": WORKSPACE_TOML, ".gitignore": GITIGNORE,
             "README.md": f"Generated by bench/gen_promotion.py --stacks {args.stacks} "
                          f"--seed {args.seed}.\n"}
    for m in MODULE_NAMES:
        for f, text in module_files(m, rng).items():
            files[f"modules/{m}/{f}"] = text
    for s in g.stacks:
        for f, text in stack_files(s).items():
            files[f"stacks/{s['name']}/{f}"] = text
        for env in s["envs"] or ["dev", "staging", "prod"]:
            files[f"environments/{env}/stacks/{s['name']}/terraform.tfvars"] = tfvars(env, s)
    for env, text in ENV_TOML.items():
        files[f"environments/{env}/env.toml"] = text
    if args.signers:
        with open(args.signers) as f:
            files["environments/allowed_signers"] = f.read()
    dev, stg, state, gone = make_locks(g, rng, args.now)
    files["environments/dev/release.lock.toml"] = render_lock("dev", dev)
    files["environments/staging/release.lock.toml"] = render_lock("staging", stg)

    for path, text in files.items():
        full = os.path.join(args.out, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    env = dict(os.environ, **GIT_ENV)

    def git(*a):
        subprocess.run(["git", "-C", args.out, *a], check=True, env=env,
                       stdout=subprocess.DEVNULL)

    git("init", "-q", "-b", "main")
    git("config", "user.email", args.author)
    git("config", "user.name", args.author.split("@")[0])
    git("add", "-A")
    git("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "promotion benchmark workspace")

    depth = g.depth()
    counts = {k: sum(1 for v in state.values() if v == k) for k in ("same", "differ", "missing")}
    deps_hist = {}
    for s in g.stacks:
        deps_hist[len(s["deps"])] = deps_hist.get(len(s["deps"]), 0) + 1
    meta = {
        "stacks": len(g.stacks),
        "modules": len(MODULE_NAMES),
        "layers": {str(k): sum(1 for s in g.stacks if s["layer"] == k) for k in range(4)},
        "edges": g.edges(),
        "graph_depth": 1 + max(depth.values()),
        "deps_per_stack": {str(k): v for k, v in sorted(deps_hist.items())},
        "dev_only": sum(1 for s in g.stacks if s["envs"]),
        "files": len(files),
        "dev_entries": len(dev),
        "staging_entries": len(stg),
        "staging_same": counts["same"],
        "staging_differ": counts["differ"],
        "staging_missing": counts["missing"],
        "gone_from_dev": len(gone),
        "now": args.now,
        "expected": expected_plan(g, dev, stg, args.now),
    }
    if args.meta:
        with open(args.meta, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
    else:
        json.dump(meta, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
