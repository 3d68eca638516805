#!/usr/bin/env python3
"""Generate a synthetic strata workspace for benchmarks.

    python3 bench/gen_workspace.py --stacks 1000 --seed 42 --out /tmp/ws-1000

The output is a git repository on branch `main` with a single commit. The same arguments
always produce the same files and the same commit id (fixed author, committer and dates,
no user or system git configuration).

Layout (N = --stacks):

* N stacks `stacks/<role>-<i>/`, in systems of ten (network, dns, database, ...). Each
  has main.tf with 1-3 `module` blocks, variables.tf, and usually outputs.tf and
  versions.tf (2-4 .tf files, 30-80 lines in all), and a stack.toml declaring 0-3
  dependencies on lower-numbered stacks of the same system, with one `[inputs]` binding
  per dependency.
* about N/10 modules `modules/<kind>-<j>/` in four layers; a module uses 0-2 modules of
  lower layers, so module use is a DAG.
* about N/20 charts: the library chart `charts/lib` and application charts that depend on
  it through `file://../lib`; every second application chart also has a chart.toml that
  depends on a cluster stack.
* environments dev, staging (promotes from dev) and prod (promotes from staging), with a
  terraform.tfvars per stack per environment.

Every target directory is also an npm workspace package (`stack-<name>`, `module-<name>`,
`chart-<name>`) whose `dependencies` mirror strata's edges, so that JavaScript monorepo
tools can compute the same "affected" set; the root has package.json, package-lock.json,
turbo.json and nx.json.

`bench-meta.json` at the root records the parameters, the module that
bench/change_one_module.sh edits, and the set of targets that change affects (the module
and everything that depends on it, transitively), computed here from the generated graph.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from collections import defaultdict

ROLES = [
    "network",
    "dns",
    "database",
    "cluster",
    "cache",
    "storage",
    "api",
    "worker",
    "observability",
    "edge",
]

# Module kinds per layer, lowest layer first.
MODULE_KINDS = [
    ["naming", "tags", "labels", "conventions"],
    ["vpc", "iam-role", "kms-key", "bucket", "dns-zone", "log-sink"],
    ["subnet-set", "postgres", "redis", "queue", "load-balancer", "firewall"],
    ["k8s-cluster", "node-pool", "cdn", "alerting", "service-mesh", "search"],
]
# Share of the modules in each layer.
LAYER_SHARE = [0.15, 0.25, 0.30, 0.30]

CHART_KINDS = ["api", "web", "worker", "gateway", "scheduler", "ingest", "notifier", "admin"]
ENVIRONMENTS = ["dev", "staging", "prod"]
REGIONS = {"dev": "eu-west-1", "staging": "eu-west-1", "prod": "eu-central-1"}

# npm version written to the root package.json `packageManager` field (turbo needs one).
PACKAGE_MANAGER = "npm@10.9.2"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Strata Bench",
    "GIT_AUTHOR_EMAIL": "bench@strata.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "Strata Bench",
    "GIT_COMMITTER_EMAIL": "bench@strata.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "TZ": "UTC",
    "LC_ALL": "C",
}


def hcl_ident(name):
    return name.replace("-", "_")


def hcl_map(pairs, indent):
    """`key = value` lines with the `=` aligned, as terraform fmt writes them."""
    width = max(len(k) for k, _ in pairs)
    pad = " " * indent
    return "\n".join(f"{pad}{k.ljust(width)} = {v}" for k, v in pairs)


class Workspace:
    """The generated graph, before anything is written."""

    def __init__(self, n_stacks, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_stacks = n_stacks
        self.n_modules = max(4, round(n_stacks / 10))
        self.n_charts = max(2, round(n_stacks / 20))
        self._modules()
        self._stacks()
        self._charts()

    # -- graph ---------------------------------------------------------------------------

    def _modules(self):
        rng = self.rng
        n = self.n_modules
        bounds = []
        acc = 0.0
        for share in LAYER_SHARE:
            acc += share
            bounds.append(round(acc * n))
        bounds[-1] = n
        self.modules = []  # list of dicts: name, layer, uses (module names)
        by_layer = defaultdict(list)
        layer = 0
        for i in range(n):
            while i >= bounds[layer]:
                layer += 1
            kinds = MODULE_KINDS[layer]
            kind = kinds[len(by_layer[layer]) % len(kinds)]
            name = f"{kind}-{i}"
            lower = [m for lay in range(layer) for m in by_layer[lay]]
            if lower:
                count = rng.choices([0, 1, 2], weights=[20, 45, 35])[0]
                uses = sorted(rng.sample(lower, min(count, len(lower))))
            else:
                uses = []
            self.modules.append({"name": name, "kind": kind, "layer": layer, "uses": uses})
            by_layer[layer].append(name)
        self.modules_by_layer = by_layer

    def _stacks(self):
        rng = self.rng
        callable_modules = [m["name"] for m in self.modules if m["layer"] >= 1]
        self.stacks = []
        for i in range(self.n_stacks):
            group, pos = divmod(i, len(ROLES))
            role = ROLES[pos]
            name = f"{role}-{i}"
            count = rng.choice([1, 1, 2, 2, 2, 3])
            uses = sorted(rng.sample(callable_modules, min(count, len(callable_modules))))
            earlier = [group * len(ROLES) + p for p in range(pos)]
            n_deps = min(len(earlier), rng.choices([0, 1, 2, 3], weights=[25, 35, 25, 15])[0])
            dep_idx = sorted(rng.sample(earlier, n_deps))
            self.stacks.append(
                {
                    "index": i,
                    "name": name,
                    "role": role,
                    "uses": uses,
                    "deps": dep_idx,  # indices for now, names below
                    "has_outputs_file": rng.random() < 0.85,
                    "has_versions_file": rng.random() < 0.70,
                    "instance_count": rng.choice([1, 2, 3]),
                }
            )
        for s in self.stacks:
            s["deps"] = [self.stacks[d]["name"] for d in s["deps"]]

    def _charts(self):
        rng = self.rng
        n_groups = (self.n_stacks + len(ROLES) - 1) // len(ROLES)
        self.charts = [{"name": "lib", "library": True, "deps": [], "stack_deps": []}]
        for c in range(1, self.n_charts):
            kind = CHART_KINDS[(c - 1) % len(CHART_KINDS)]
            stack_deps = []
            if c % 2 == 0:
                group = (c * 7) % n_groups
                idx = group * len(ROLES) + ROLES.index("cluster")
                if idx >= self.n_stacks:
                    idx = group * len(ROLES)
                stack_deps = [self.stacks[idx]["name"]]
            self.charts.append(
                {
                    "name": f"{kind}-{c}",
                    "kind": kind,
                    "library": False,
                    "deps": ["lib"],
                    "stack_deps": stack_deps,
                    "replicas": rng.choice([1, 2, 3]),
                    "port": rng.choice([8080, 8000, 3000, 9000]),
                }
            )

    def edges(self):
        """label -> sorted list of labels it depends on (strata's graph)."""
        out = {}
        for m in self.modules:
            out[f"modules/{m['name']}"] = sorted(f"modules/{u}" for u in m["uses"])
        for s in self.stacks:
            deps = {f"modules/{u}" for u in s["uses"]} | {f"stacks/{d}" for d in s["deps"]}
            out[f"stacks/{s['name']}"] = sorted(deps)
        for c in self.charts:
            deps = {f"charts/{d}" for d in c["deps"]} | {f"stacks/{d}" for d in c["stack_deps"]}
            out[f"charts/{c['name']}"] = sorted(deps)
        return out

    def dependents_closure(self, label):
        edges = self.edges()
        rev = defaultdict(list)
        for src, deps in edges.items():
            for d in deps:
                rev[d].append(src)
        seen = {label}
        todo = [label]
        while todo:
            cur = todo.pop()
            for nxt in rev[cur]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return sorted(seen)

    def changed_module(self):
        """The layer-1 module with the most transitive dependents (ties: lowest index)."""
        best = None
        for m in self.modules:
            if m["layer"] != 1:
                continue
            label = f"modules/{m['name']}"
            n = len(self.dependents_closure(label))
            if best is None or n > best[1]:
                best = (label, n)
        return best[0]


# -- file contents ---------------------------------------------------------------------------


def versions_tf():
    return """terraform {
  required_version = ">= 1.0.0"

  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "~> 3.2"
    }
  }
}
"""


def variable_block(name, description, type_, default=None):
    lines = [
        f'variable "{name}" {{',
        f'  description = "{description}"',
        f"  type        = {type_}",
    ]
    if default is not None:
        lines.append(f"  default     = {default}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def stack_inputs(ws, s):
    """(variable, dep stack name) per declared dependency."""
    by_name = {x["name"]: x for x in ws.stacks}
    return [(f"{by_name[d]['role']}_id", d) for d in s["deps"]]


def stack_outputs(s):
    return f"""output "id" {{
  description = "Identifier of the {s['role']} deployment."
  value       = null_resource.{hcl_ident(s['role'])}.id
}}

output "name" {{
  description = "Name prefix used by {s['name']}."
  value       = local.name
}}
"""


def stack_main_tf(ws, s):
    inputs = stack_inputs(ws, s)
    parts = [
        f"""locals {{
  name = "${{var.environment}}-{s['name']}"
  tags = {{
    Stack       = "{s['name']}"
    Environment = var.environment
    ManagedBy   = "strata"
  }}
}}
"""
    ]
    for u in s["uses"]:
        parts.append(
            f"""module "{hcl_ident(u)}" {{
  source = "../../modules/{u}"

  name        = "${{local.name}}-{u}"
  environment = var.environment
  tags        = local.tags
}}
"""
        )
    triggers = [("name", "local.name"), ("region", "var.region"), ("replicas", "var.instance_count")]
    triggers += [(var, f"var.{var}") for var, _ in inputs]
    triggers += [(hcl_ident(u), f"module.{hcl_ident(u)}.id") for u in s["uses"]]
    parts.append(
        f'resource "null_resource" "{hcl_ident(s["role"])}" {{\n'
        "  triggers = {\n" + hcl_map(triggers, 4) + "\n  }\n}\n"
    )
    if not s["has_outputs_file"]:
        parts.append(stack_outputs(s))
    return "\n".join(parts)


def stack_variables_tf(ws, s):
    blocks = [
        variable_block("environment", "Deployment environment (dev, staging or prod).", "string"),
        variable_block("region", "Region the stack deploys to.", "string", '"eu-west-1"'),
        variable_block("instance_count", "How many instances to run.", "number", "1"),
    ]
    for var, dep in stack_inputs(ws, s):
        blocks.append(variable_block(var, f"Supplied from stacks/{dep}:id.", "string"))
    return "\n".join(blocks)


def stack_toml(ws, s):
    lines = [f"# {s['role'].capitalize()} stack of system {s['index'] // len(ROLES)}."]
    deps = ", ".join(f'"stacks/{d}"' for d in s["deps"])
    lines.append(f"deps = [{deps}]")
    inputs = stack_inputs(ws, s)
    if inputs:
        lines.append("")
        lines.append("[inputs]")
        for var, dep in inputs:
            lines.append(f'{var} = "stacks/{dep}:id"')
    return "\n".join(lines) + "\n"


def module_main_tf(m):
    parts = []
    for u in m["uses"]:
        parts.append(
            f"""module "{hcl_ident(u)}" {{
  source = "../{u}"

  name        = "${{var.name}}-{u}"
  environment = var.environment
  tags        = var.tags
}}
"""
        )
    triggers = [("name", "var.name"), ("environment", "var.environment"), ("tags", "jsonencode(var.tags)")]
    triggers += [(hcl_ident(u), f"module.{hcl_ident(u)}.id") for u in m["uses"]]
    parts.append(
        f'resource "null_resource" "{hcl_ident(m["kind"])}" {{\n'
        "  triggers = {\n" + hcl_map(triggers, 4) + "\n  }\n}\n"
    )
    return "\n".join(parts)


def module_variables_tf(m):
    return "\n".join(
        [
            variable_block("name", f"Name of the {m['kind']} resources.", "string"),
            variable_block("environment", "Deployment environment.", "string"),
            variable_block("tags", "Tags applied to every resource.", "map(string)", "{}"),
        ]
    )


def module_outputs_tf(m):
    return f"""output "id" {{
  description = "Identifier of the {m['kind']}."
  value       = null_resource.{hcl_ident(m['kind'])}.id
}}

output "name" {{
  description = "Name of the {m['kind']}."
  value       = var.name
}}
"""


def chart_yaml(c):
    if c["library"]:
        return """apiVersion: v2
name: lib
description: Shared named templates (labels, Deployment, Service) for all services.
type: library
version: 0.1.0
"""
    return f"""apiVersion: v2
name: {c['name']}
description: The {c['kind']} service ({c['name']}).
type: application
version: 1.0.0
appVersion: "1.0.0"
dependencies:
  - name: lib
    version: "0.1.0"
    repository: "file://../lib"
"""


def chart_values(c):
    if c["library"]:
        return """# Defaults shared by every chart that includes lib.
commonLabels:
  app.kubernetes.io/part-of: synthetic
"""
    return f"""replicaCount: {c['replicas']}

image:
  repository: registry.example.com/{c['kind']}
  tag: "1.0.0"
  pullPolicy: IfNotPresent

containerPort: {c['port']}

service:
  type: ClusterIP
  port: 80

resources:
  requests:
    cpu: 100m
    memory: 128Mi
  limits:
    memory: 256Mi
"""


def chart_templates(c):
    if c["library"]:
        return {
            "_labels.tpl": """{{- define "lib.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
""",
            "_helpers.tpl": """{{- define "lib.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
""",
        }
    return {
        "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "lib.fullname" . }}
  labels:
    {{- include "lib.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        {{- include "lib.labels" . | nindent 8 }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: {{ .Values.containerPort }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
""",
        "service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ include "lib.fullname" . }}
  labels:
    {{- include "lib.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: {{ .Values.containerPort }}
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
""",
    }


def chart_toml(c):
    deps = ", ".join(f'"stacks/{d}"' for d in c["stack_deps"])
    lines = [f"deps = [{deps}]", "", "[inputs]"]
    for d in c["stack_deps"]:
        lines.append(f'cluster_id = "stacks/{d}:id"')
    return "\n".join(lines) + "\n"


ENV_TOML = {
    "dev": """# Development: every merge to main deploys here.

[gates]
require = ["plan"]
approvals = 0
soak = "0m"
""",
    "staging": """# Staging: receives what passed in dev.
promotes_from = "dev"

[gates]
require = ["plan", "policy"]
approvals = 1
soak = "30m"
""",
    "prod": """# Production: promoted from staging after a soak.
promotes_from = "staging"

[gates]
require = ["plan", "policy"]
approvals = 2
soak = "2h"
""",
}


def tfvars(env, s):
    count = s["instance_count"] * (2 if env == "prod" else 1)
    return (
        f'environment    = "{env}"\n'
        f'region         = "{REGIONS[env]}"\n'
        f"instance_count = {count}\n"
    )


WORKSPACE_TOML = """[workspace]
name = "synthetic"
default_branch = "main"
global_inputs = ["WORKSPACE.toml"]
ignore = ["**/*.md"]

[toolchain]
terraform = "1.0.3"
helm = "4.1.4"
"""

GITIGNORE = """node_modules
.nx/
.turbo/
.strata/
.terraform/
*.tfstate
*.tfstate.backup
"""


def package_json(name, deps):
    doc = {"name": name, "version": "0.0.0", "private": True}
    if deps:
        doc["dependencies"] = {d: "*" for d in sorted(deps)}
    return json.dumps(doc, indent=2) + "\n"


# -- writing ---------------------------------------------------------------------------------


class Writer:
    def __init__(self, root):
        self.root = root
        self.count = 0
        self._dirs = set()

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        d = os.path.dirname(path)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        self.count += 1


def package_name(label):
    kind, name = label.split("/", 1)
    return {"stacks": "stack", "modules": "module", "charts": "chart"}[kind] + "-" + name


def generate(ws, out):
    w = Writer(out)
    edges = ws.edges()
    packages = {}  # label -> (package name, dependency package names)
    for label, deps in edges.items():
        packages[label] = (package_name(label), [package_name(d) for d in deps])

    w.write("WORKSPACE.toml", WORKSPACE_TOML)
    w.write(".gitignore", GITIGNORE)
    w.write(
        "README.md",
        f"# synthetic\n\nGenerated by bench/gen_workspace.py --stacks {ws.n_stacks} --seed {ws.seed}.\n",
    )

    for m in ws.modules:
        d = f"modules/{m['name']}"
        w.write(f"{d}/main.tf", module_main_tf(m))
        w.write(f"{d}/variables.tf", module_variables_tf(m))
        w.write(f"{d}/outputs.tf", module_outputs_tf(m))
        if m["layer"] > 0:
            w.write(f"{d}/versions.tf", versions_tf())
        w.write(f"{d}/package.json", package_json(*packages[d]))

    for s in ws.stacks:
        d = f"stacks/{s['name']}"
        w.write(f"{d}/main.tf", stack_main_tf(ws, s))
        w.write(f"{d}/variables.tf", stack_variables_tf(ws, s))
        if s["has_outputs_file"]:
            w.write(f"{d}/outputs.tf", stack_outputs(s))
        if s["has_versions_file"]:
            w.write(f"{d}/versions.tf", versions_tf())
        w.write(f"{d}/stack.toml", stack_toml(ws, s))
        w.write(f"{d}/package.json", package_json(*packages[d]))
        for env in ENVIRONMENTS:
            w.write(f"environments/{env}/{d}/terraform.tfvars", tfvars(env, s))

    for c in ws.charts:
        d = f"charts/{c['name']}"
        w.write(f"{d}/Chart.yaml", chart_yaml(c))
        w.write(f"{d}/values.yaml", chart_values(c))
        for name, text in chart_templates(c).items():
            w.write(f"{d}/templates/{name}", text)
        if c["stack_deps"]:
            w.write(f"{d}/chart.toml", chart_toml(c))
        w.write(f"{d}/package.json", package_json(*packages[d]))

    for env in ENVIRONMENTS:
        w.write(f"environments/{env}/env.toml", ENV_TOML[env])

    workspaces = ["stacks/*", "modules/*", "charts/*"]
    root_pkg = {
        "name": "synthetic",
        "version": "0.0.0",
        "private": True,
        "workspaces": workspaces,
        "packageManager": PACKAGE_MANAGER,
    }
    w.write("package.json", json.dumps(root_pkg, indent=2) + "\n")
    w.write("package-lock.json", package_lock(root_pkg, edges, packages))
    w.write(
        "turbo.json",
        json.dumps({"$schema": "https://turborepo.com/schema.json", "tasks": {}}, indent=2) + "\n",
    )
    w.write("nx.json", json.dumps({"defaultBase": "main"}, indent=2) + "\n")

    changed = ws.changed_module()
    affected = ws.dependents_closure(changed)
    meta = {
        "generator": "bench/gen_workspace.py",
        "seed": ws.seed,
        "stacks": ws.n_stacks,
        "modules": ws.n_modules,
        "charts": ws.n_charts,
        "targets": len(edges),
        "edges": sum(len(v) for v in edges.values()),
        "changed_module": changed,
        "changed_file": f"{changed}/main.tf",
        "expected_affected": len(affected),
        "expected_affected_by_kind": {
            k: sum(1 for a in affected if a.startswith(k + "/"))
            for k in ("stacks", "modules", "charts")
        },
    }
    w.write("bench-meta.json", json.dumps(meta, indent=2) + "\n")
    return w.count, meta, affected


def package_lock(root_pkg, edges, packages):
    """An npm lockfile (v3) for the workspace packages, as `npm install` writes it: a link
    entry under node_modules/ and a package entry per workspace package."""
    entries = {"": {"name": root_pkg["name"], "version": root_pkg["version"], "workspaces": root_pkg["workspaces"]}}
    labels = sorted(edges)
    for label in sorted(labels, key=lambda l: packages[l][0]):
        name, _ = packages[label]
        entries[f"node_modules/{name}"] = {"resolved": label, "link": True}
    for label in labels:
        name, deps = packages[label]
        entry = {"name": name, "version": "0.0.0"}
        if deps:
            entry["dependencies"] = {d: "*" for d in sorted(deps)}
        entries[label] = entry
    entries = {k: entries[k] for k in sorted(entries)}  # npm orders them by key
    doc = {
        "name": root_pkg["name"],
        "version": root_pkg["version"],
        "lockfileVersion": 3,
        "requires": True,
        "packages": entries,
    }
    return json.dumps(doc, indent=2) + "\n"


def git(out, *args):
    env = dict(os.environ)
    env.update(GIT_ENV)
    subprocess.run(["git", *args], cwd=out, env=env, check=True, stdout=subprocess.DEVNULL)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stacks", type=int, required=True, help="number of stacks")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True, help="directory to create (a new git repository)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.stacks < 1:
        p.error("--stacks must be at least 1")
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        if not args.force:
            p.error(f"{out} exists and is not empty (use --force to replace it)")
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)

    ws = Workspace(args.stacks, args.seed)
    count, meta, _ = generate(ws, out)
    git(out, "init", "-q", "-b", "main")
    git(out, "add", "-A")
    git(out, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m",
        f"Synthetic workspace: {args.stacks} stacks, seed {args.seed}")
    if not args.quiet:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=out, capture_output=True,
                              text=True, check=True).stdout.strip()
        print(
            f"{out}: {count} files, {meta['targets']} targets "
            f"({meta['stacks']} stacks, {meta['modules']} modules, {meta['charts']} charts), "
            f"{meta['edges']} edges, commit {head[:12]}; "
            f"{meta['changed_module']} affects {meta['expected_affected']} targets",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
