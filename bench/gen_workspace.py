#!/usr/bin/env python3
"""Generate a synthetic strata workspace for benchmarks.

    python3 bench/gen_workspace.py --stacks 1000 --seed 42 --out /tmp/ws-1000
    python3 bench/gen_workspace.py --stacks 1000 --file-size realistic --out /tmp/ws-1000-r

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

`--file-size` sets how large the .tf files of stacks and modules are:

* `small` (the default): the files described above, about 0.4 KB per .tf file on average.
* `realistic`: about 2 KB per .tf file on average, spread over 0.3-6 KB (the median is about
  1.5 KB; main.tf is the largest, versions.tf the smallest), closer to hand-written Terraform
  (cloudposse/terraform-aws-components averages 2.7 KB). Each file keeps the small content and
  gets more after it (versions.tf a fuller block instead): comment blocks in `#`, `//` and
  `/* */`, variables with heredoc descriptions, object types and validation blocks, locals
  with maps and `for` expressions, AWS resources and data sources with nested, `dynamic` and
  `lifecycle` blocks, heredocs, `jsonencode` policies, string templates, and outputs; one
  main.tf in ten has `%{if}` / `%{for}` template directives. The files are formatted as
  `terraform fmt` writes them. The added content is meant for reading (strata's graph,
  affected, hashing), not for running: it uses the aws provider and has no working values.
  It adds no dependency: no `module` block, no file function, no `path.*`, no
  `helm_release`, no stack.toml edge, so targets, edges and the affected set are the same as
  with `small` for the same --stacks and --seed (it draws from its own RNG, seeded with the
  seed and the target's label).

`bench-meta.json` at the root records the parameters, the module that
bench/change_one_module.sh edits, and the set of targets that change affects (the module
and everything that depends on it, transitively), computed here from the generated graph;
then the file size, the number of .tf files (stacks and modules), their total and mean size
in bytes, and how many of them hold a template directive.
"""

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
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
        self.stacks_by_name = {s["name"]: s for s in self.stacks}

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
    return [(f"{ws.stacks_by_name[d]['role']}_id", d) for d in s["deps"]]


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


# -- realistic file sizes --------------------------------------------------------------------
#
# With --file-size realistic every .tf file of a stack or module gets more content after the
# small workspace's (versions.tf a fuller block instead of the small one): comment blocks,
# variables with long descriptions, object types and validations, locals, resources and data
# sources with nested and dynamic blocks, heredocs, templates and outputs, in the layout
# terraform fmt writes. None of it is a dependency fact for strata: no `module` block, no
# file-reading function, no `path.*` reference, no `helm_release` or `backend` block
# (EXTRA_FORBIDDEN checks every piece). Its randomness comes from an RNG seeded with the seed
# and the target's label, so the graph, drawn from the workspace's RNG, is the same in both
# modes.

FILE_SIZES = ["small", "realistic"]

# Per file: (median, sigma, low, high) of the log-normal size the file is filled up to, in
# bytes. The last block added may overshoot the target, never `high`. versions.tf is not
# filled (350-1,250 bytes). With these, .tf files average about 2 KB (a stack or module has
# 3-4 of them), spread over 0.3-6 KB with about one in a hundred under 0.5 KB (an outputs.tf
# whose stack got few additions).
REALISTIC_SIZES = {
    "main.tf": (2600, 0.55, 700, 6000),
    "variables.tf": (2100, 0.55, 500, 6000),
    "outputs.tf": (900, 0.45, 450, 3000),
}
# Share of targets whose main.tf holds a template directive (`%{if}`, `%{for}`), and share of
# the `locals` blocks that pick a value from another local by key or with a choice function
# (`local.m[var.k]`, `lookup`, `try`), the rest with a conditional. strata's fast scanner leaves
# files with either to the full HCL parser, so these shares set how many files take that path.
DIRECTIVE_SHARE = 0.10
CHOICE_LOCAL_SHARE = 0.5

EXTRA_FORBIDDEN = re.compile(
    r'\bmodule\s*"|\bmodule\.|\bfile[a-z0-9]*\s*\(|templatefile|\bpath\.|helm_release|\bbackend\b'
)
EXTRA_FORBIDDEN_WORDS = re.compile("module|file|path|helm|backend")  # a quick first look

ROLE_TEXT = {
    "network": "the VPC of one system: subnets, route tables and NAT gateways",
    "dns": "the hosted zones and records that name the system's endpoints",
    "database": "a managed PostgreSQL cluster with its parameter group, backups and alarms",
    "cluster": "the Kubernetes control plane and the node groups that run the workloads",
    "cache": "a Redis replication group used as cache and session store",
    "storage": "the system's S3 buckets with their encryption and lifecycle rules",
    "api": "the public API: load balancer, target groups and autoscaling",
    "worker": "the background workers that consume the system's queues",
    "observability": "log groups, metric alarms and dashboards of the system",
    "edge": "the CDN distribution, WAF rules and certificates in front of the system",
}
KIND_TEXT = {
    "naming": "a naming convention for resource names and identifiers",
    "tags": "the tag map every resource carries",
    "labels": "labels derived from the namespace, environment and name",
    "conventions": "shared conventions: separators, casing and length limits",
    "vpc": "a VPC with DNS support and flow logs",
    "iam-role": "an IAM role with its trust policy and managed policy attachments",
    "kms-key": "a customer-managed KMS key with rotation and an alias",
    "bucket": "an S3 bucket with encryption, versioning and a public access block",
    "dns-zone": "a Route 53 hosted zone and its delegation records",
    "log-sink": "a CloudWatch log group with retention and subscription filters",
    "subnet-set": "a set of subnets spread over availability zones",
    "postgres": "a PostgreSQL instance with parameter group, backups and alarms",
    "redis": "a Redis replication group encrypted in transit and at rest",
    "queue": "an SQS queue with a dead-letter queue and a redrive policy",
    "load-balancer": "an application load balancer with listeners and target groups",
    "firewall": "security groups and network ACLs",
    "k8s-cluster": "an EKS cluster with control plane logging and an OIDC provider",
    "node-pool": "a managed node group with its launch template",
    "cdn": "a CloudFront distribution with an origin access identity",
    "alerting": "SNS topics and CloudWatch alarms that page the on-call engineer",
    "service-mesh": "an App Mesh mesh with virtual nodes and routers",
    "search": "an OpenSearch domain with fine-grained access control",
}

COMMENT_SENTENCES = [
    "Resources are created only when `enabled` is true, and every name is derived from the "
    "same prefix so that two environments never collide.",
    "Changes to the encryption settings force replacement, so read the plan carefully before "
    "applying in prod.",
    "The defaults suit development environments; staging and prod override them in their "
    "tfvars.",
    "Tags are merged in a fixed order, the caller's first and the ones set here last, so that "
    "the values below always win.",
    "Keep provider configuration out of this file: the root configuration passes providers in.",
    "Most inputs have defaults; only the name and the environment must be set by the caller.",
    "Read the runbook before changing retention or deletion settings.",
    "Outputs are null when the resources are disabled, never an error.",
    "Every resource gets a Name tag, which the cost reports group by.",
    "Names are truncated to 63 characters, the longest most AWS APIs accept.",
    "This configuration was split out of a larger one; some names keep their historical form "
    "so that no resource is replaced.",
    "The alarms send notifications to the topics listed in alarm_actions; an empty list "
    "silences them.",
    "IAM policies are written as policy documents rather than JSON strings so that plans show "
    "readable diffs.",
    "Retention periods follow the data classification policy: 30 days for debug logs, one year "
    "for audit logs.",
    "Do not rename resources here without a moved block: a rename destroys and recreates them.",
    "Lifecycle rules ignore changes made by the autoscaler so that plans stay quiet.",
    "Security groups allow nothing by default; every rule is listed in the inputs.",
    "The KMS key policy grants the account root full access, as AWS recommends, so that the "
    "key can never become unmanageable.",
    "Costs: the NAT gateways and the load balancer dominate; everything else is small.",
    "Anything marked deprecated below stays until every caller has moved to the replacement.",
]
NOTE_LINES = [
    "TODO(platform): drop the legacy settings once every environment has migrated.",
    "NOTE: the provider retries throttled calls; large applies may take a few minutes.",
    "FIXME: the health check path should come from the service's own configuration.",
    "NOTE: keep the order of the statements below; reviewers compare them with the policy.",
    "TODO: move the alarm thresholds into the shared observability settings.",
    "NOTE: prod uses a longer deletion window, see the local below.",
]
VAR_NOTES = [
    "Changing this value replaces the affected resources.",
    "Leave the default unless the service owners ask for a different value.",
    "The value applies to every environment unless the environment's tfvars override it.",
    "This input is kept for older callers and may be removed in the next major version.",
    "Ignored when `enabled` is false.",
    "Values outside the accepted range are rejected at plan time.",
    "See the provider documentation for the accepted values.",
    "An empty value means the provider's default.",
]

# Variables a stack or module may declare besides its small set: name -> (type, default,
# description, validation (condition, error message) or None). Multi-line types and defaults
# are written two spaces in from the attribute.
VARIABLE_SPECS = {
    "enabled": ("bool", "true", "Set to false to prevent the module from creating any resources.", None),
    "log_retention_days": (
        "number",
        "30",
        "Number of days to keep log events before CloudWatch Logs deletes them.",
        (
            "contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], "
            "var.log_retention_days)",
            "The retention must be one of the values CloudWatch Logs accepts.",
        ),
    ),
    "kms_key_arn": (
        "string",
        "null",
        "ARN of the KMS key that encrypts data at rest. When null, an AWS managed key is used.",
        None,
    ),
    "vpc_id": (
        "string",
        "null",
        "ID of the VPC the resources are created in.",
        (
            'var.vpc_id == null || can(regex("^vpc-[0-9a-f]+$", var.vpc_id))',
            "The VPC ID must look like vpc-0123abcd.",
        ),
    ),
    "subnet_ids": (
        "list(string)",
        "[]",
        "IDs of the subnets the resources are placed in, one per availability zone.",
        (
            "length(var.subnet_ids) == 0 || length(var.subnet_ids) >= 2",
            "Give at least two subnets, in different availability zones, or none.",
        ),
    ),
    "allowed_cidr_blocks": (
        "list(string)",
        "[]",
        "CIDR blocks allowed to reach the service, in addition to the VPC itself.",
        (
            "alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0))])",
            "Every entry must be a CIDR block such as 10.0.0.0/16.",
        ),
    ),
    "ingress_rules": (
        "list(object({\n  description = string\n  from_port   = number\n  to_port     = number\n"
        "  protocol    = string\n  cidr_blocks = list(string)\n}))",
        '[\n  {\n    description = "HTTPS from the VPC."\n    from_port   = 443\n    to_port     = 443\n'
        '    protocol    = "tcp"\n    cidr_blocks = ["10.0.0.0/8"]\n  },\n]',
        "Ingress rules of the security group. Egress is always open.",
        (
            "alltrue([for r in var.ingress_rules : r.from_port <= r.to_port])",
            "Each rule's from_port must not be greater than its to_port.",
        ),
    ),
    "alarm_thresholds": (
        "object({\n  cpu_high      = number\n  memory_high   = number\n  disk_free_low = number\n})",
        "{\n  cpu_high      = 80\n  memory_high   = 85\n  disk_free_low = 10\n}",
        "Thresholds, in percent, above (or for disk space below) which the alarms fire.",
        (
            "var.alarm_thresholds.cpu_high > 0 && var.alarm_thresholds.cpu_high <= 100",
            "The CPU threshold is a percentage between 1 and 100.",
        ),
    ),
    "alarm_actions": ("list(string)", "[]", "ARNs of the SNS topics the alarms notify.", None),
    "maintenance_window": (
        "string",
        '"sun:03:00-sun:04:00"',
        "Weekly window, in UTC, in which the provider may apply maintenance.",
        (
            'can(regex("^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-'
            '(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$", var.maintenance_window))',
            "The window must look like sun:03:00-sun:04:00.",
        ),
    ),
    "backup": (
        "object({\n  enabled        = bool\n  retention_days = number\n  window         = string\n"
        "  copy_to_region = string\n})",
        '{\n  enabled        = true\n  retention_days = 7\n  window         = "01:00-02:00"\n'
        "  copy_to_region = null\n}",
        "Automated backups: whether they run, how long they are kept and where a copy goes.",
        (
            "var.backup.retention_days >= 1 && var.backup.retention_days <= 35",
            "Backups are kept between 1 and 35 days.",
        ),
    ),
    "additional_tags": (
        "map(string)",
        "{}",
        "Tags added to every resource on top of the standard ones.",
        (
            "alltrue([for k in keys(var.additional_tags) : length(k) <= 128])",
            "Tag keys are at most 128 characters long.",
        ),
    ),
    "deletion_protection": ("bool", "true", "Whether the provider refuses to delete the resources.", None),
    "instance_type": (
        "string",
        '"t3.medium"',
        "EC2 instance type of the nodes.",
        (
            'can(regex("^[a-z][a-z0-9-]*\\\\.[a-z0-9]+$", var.instance_type))',
            "The instance type must look like t3.medium.",
        ),
    ),
    "autoscaling": (
        "object({\n  min_size     = number\n  max_size     = number\n  desired_size = number\n"
        "  target_cpu   = number\n})",
        "{\n  min_size     = 1\n  max_size     = 4\n  desired_size = 2\n  target_cpu   = 60\n}",
        "Size limits of the group and the CPU utilisation the scaling policy aims for.",
        (
            "var.autoscaling.min_size <= var.autoscaling.desired_size "
            "&& var.autoscaling.desired_size <= var.autoscaling.max_size",
            "The sizes must satisfy min_size <= desired_size <= max_size.",
        ),
    ),
    "health_check": (
        "object({\n  path                = string\n  interval            = number\n"
        "  timeout             = number\n  healthy_threshold   = number\n"
        "  unhealthy_threshold = number\n  matcher             = string\n})",
        '{\n  path                = "/healthz"\n  interval            = 15\n  timeout             = 5\n'
        '  healthy_threshold   = 2\n  unhealthy_threshold = 3\n  matcher             = "200-399"\n}',
        "Health check of the target group.",
        (
            'substr(var.health_check.path, 0, 1) == "/"',
            "The health check path must start with a slash.",
        ),
    ),
    "ssm_parameters": (
        "map(object({\n  value       = string\n  type        = string\n  description = string\n}))",
        "{}",
        "Parameters written to SSM Parameter Store, by name below the stack's prefix.",
        (
            "alltrue([for p in values(var.ssm_parameters) : "
            'contains(["String", "StringList", "SecureString"], p.type)])',
            "The type of a parameter is String, StringList or SecureString.",
        ),
    ),
    "log_level": (
        "string",
        '"info"',
        "Log level of the service.",
        (
            'contains(["debug", "info", "warn", "error"], var.log_level)',
            "The log level is debug, info, warn or error.",
        ),
    ),
    "dns_ttl": (
        "number",
        "300",
        "TTL, in seconds, of the DNS records.",
        ("var.dns_ttl >= 60 && var.dns_ttl <= 86400", "The TTL is between 60 seconds and one day."),
    ),
    "feature_flags": (
        "map(bool)",
        "{\n  canary_releases     = false\n  detailed_monitoring = true\n  spot_instances      = false\n}",
        "Switches for optional behaviour, by name.",
        None,
    ),
    "attributes": (
        "list(string)",
        "[]",
        'Extra name parts appended to the prefix, for example ["blue"] during a migration.',
        None,
    ),
    "notification_email": (
        "string",
        "null",
        "Address that receives alarm notifications, in addition to the SNS topics.",
        (
            'var.notification_email == null || can(regex("^[^@ ]+@[^@ ]+$", var.notification_email))',
            "The notification address must be an email address.",
        ),
    ),
    "create_timeout": (
        "string",
        '"30m"',
        "How long terraform waits for the resources to be created.",
        ('can(regex("^[0-9]+(s|m|h)$", var.create_timeout))', "The timeout must look like 30m, 90s or 2h."),
    ),
    "cors_rules": (
        "list(object({\n  allowed_headers = list(string)\n  allowed_methods = list(string)\n"
        "  allowed_origins = list(string)\n  max_age_seconds = number\n}))",
        "[]",
        "CORS rules of the bucket.",
        None,
    ),
    "lifecycle_rules": (
        "list(object({\n  id                                 = string\n"
        "  enabled                            = bool\n"
        "  prefix                             = string\n"
        "  expiration_days                    = number\n"
        "  noncurrent_version_expiration_days = number\n}))",
        '[\n  {\n    id                                 = "expire-old-objects"\n'
        "    enabled                            = true\n"
        '    prefix                             = ""\n'
        "    expiration_days                    = 365\n"
        "    noncurrent_version_expiration_days = 30\n  },\n]",
        "Lifecycle rules of the bucket.",
        None,
    ),
    "port": (
        "number",
        "8080",
        "Port the service listens on.",
        ("var.port > 0 && var.port < 65536", "The port is between 1 and 65535."),
    ),
    "image_id": ("string", "null", "AMI of the nodes. When null, the latest approved image is used.", None),
    "cpu_architecture": (
        "string",
        '"x86_64"',
        "CPU architecture of the nodes.",
        ('contains(["x86_64", "arm64"], var.cpu_architecture)', "The architecture is x86_64 or arm64."),
    ),
    "iam_policy_statements": (
        "any",
        "{}",
        "Extra IAM policy statements for the role, by statement ID, in the form of the "
        "aws_iam_policy_document data source.",
        None,
    ),
    "multi_az": ("bool", "false", "Whether to run a standby in a second availability zone.", None),
    "storage_size_gb": (
        "number",
        "20",
        "Allocated storage in GiB.",
        (
            "var.storage_size_gb >= 20 && var.storage_size_gb <= 65536",
            "The storage size is between 20 and 65536 GiB.",
        ),
    ),
    "owner_team": (
        "string",
        '"platform"',
        "Team that owns the resources; it receives the alarms and the cost reports.",
        ("length(var.owner_team) > 0", "The owner team must not be empty."),
    ),
    "cost_center": ("string", "null", "Cost center the resources are billed to.", None),
}

_ASSIGN = re.compile(r'^( *)([A-Za-z_][A-Za-z0-9_-]*|"[^"\n]*") *= (?![=>])(.*)$')
_HEREDOC = re.compile(r"<<-?([A-Za-z_]+)$")


def _net_brackets(expr):
    """Opened minus closed brackets in `expr`, up to a heredoc opener."""
    expr = expr.split("<<", 1)[0]
    return sum(expr.count(c) for c in "([{") - sum(expr.count(c) for c in ")]}")


def tf_align(text):
    """Aligns the `=` of consecutive one-line attributes as terraform fmt does: a line that
    is not a one-line attribute (a blank line, a comment, a block or a multi-line value)
    ends a run; the body of a heredoc belongs to the attribute that opens it."""
    lines = text.split("\n")
    run = []

    def flush():
        if len(run) > 1:
            width = max(len(m.group(1)) + len(m.group(2)) for _, m in run)
            for i, m in run:
                lead = m.group(1) + m.group(2)
                lines[i] = f"{lead.ljust(width)} = {m.group(3)}"
        run.clear()

    heredoc = None
    comment = False
    for i, line in enumerate(lines):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if comment:
            comment = "*/" not in line
            flush()
            continue
        m = _ASSIGN.match(line)
        if m and _net_brackets(m.group(3)) == 0:
            run.append((i, m))
        else:
            flush()
            comment = line.lstrip().startswith("/*") and "*/" not in line
        h = _HEREDOC.search(line)
        if h:
            heredoc = h.group(1)
    flush()
    return "\n".join(lines)


def _indent(text, n):
    """`text` with every line but the first indented by `n` more spaces."""
    pad = " " * n
    return "\n".join([text.split("\n")[0]] + [pad + l if l else l for l in text.split("\n")[1:]])


def _comment(rng, sentences, width=88, style=None):
    """A comment block of the given sentences (a list of paragraphs), in a random style."""
    style = style or rng.choices(["#", "//", "/*"], weights=[60, 15, 25])[0]
    body = []
    for i, paragraph in enumerate(sentences):
        if i:
            body.append("")
        body.extend(textwrap.wrap(paragraph, width - 3) or [""])
    if style == "/*":
        return "/*\n" + "\n".join((" * " + l).rstrip() for l in body) + "\n */\n"
    return "\n".join((f"{style} " + l).rstrip() for l in body) + "\n"


class TfExtras:
    """The realistic content of one stack or module."""

    def __init__(self, seed, label, what, root):
        self.rng = random.Random(f"gen_workspace {seed} {label}")
        self.label = label
        self.what = what  # the role or module kind
        self.root = root  # a stack: it has var.region and local.name / local.tags
        self.prefix = "local.name" if root else "var.name"
        self.tags = "local.tags" if root else "var.tags"
        self.vars = set()
        self.locals = set()
        self.names = set()  # resource and data addresses
        self.outputs = []  # (name, value, description) for outputs.tf
        self.directives = self.rng.random() < DIRECTIVE_SHARE

    # -- helpers ----------------------------------------------------------------------------

    def target_size(self, file):
        median, sigma, low, high = REALISTIC_SIZES[file]
        size = self.rng.lognormvariate(math.log(median), sigma)
        return int(min(max(size, low), high)), high

    def var(self, name, fallback):
        return f"var.{name}" if name in self.vars else fallback

    def enabled(self):
        return "enabled" in self.locals

    def count_line(self):
        return "  count = local.enabled ? 1 : 0\n\n" if self.enabled() else ""

    def ref(self, address, attr):
        """An attribute of a resource that may have a count."""
        if self.enabled():
            return f"one({address}[*].{attr})"
        return f"{address}.{attr}"

    def name(self, rtype, preferred):
        for n in preferred:
            if (rtype, n) not in self.names:
                self.names.add((rtype, n))
                return n
        i = 2
        while (rtype, f"{preferred[0]}_{i}") in self.names:
            i += 1
        self.names.add((rtype, f"{preferred[0]}_{i}"))
        return f"{preferred[0]}_{i}"

    def sentences(self, k):
        return self.rng.sample(COMMENT_SENTENCES, k)

    def header(self, file, short=False):
        rng = self.rng
        what = ROLE_TEXT.get(self.what) or KIND_TEXT.get(self.what, f"the {self.what} resources")
        title = {
            "main.tf": f"{self.label} manages {what}.",
            "variables.tf": f"Inputs of {self.label}.",
            "outputs.tf": f"Outputs of {self.label}, read by the stacks and charts that depend on it.",
            "versions.tf": f"Terraform and provider versions for {self.label}.",
        }[file]
        paragraphs = [title + " " + " ".join(self.sentences(rng.randint(1 if short else 0, 2)))]
        for _ in range(0 if short else rng.choices([0, 1, 2, 3], weights=[25, 35, 25, 15])[0]):
            paragraphs.append(" ".join(self.sentences(rng.randint(1, 3))))
        if rng.random() < 0.3:
            paragraphs.append(rng.choice(NOTE_LINES))
        return _comment(rng, paragraphs)

    def section(self, topic):
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return f"# {'-' * 86}\n# {topic}\n# {'-' * 86}\n\n"
        if r < 0.55:
            text = topic + " " + " ".join(self.sentences(rng.randint(1, 2)))
            return _comment(rng, [text], style=rng.choice(["#", "//"]))
        if r < 0.65:
            return f"# {rng.choice(NOTE_LINES)}\n"
        return ""

    @staticmethod
    def check(text):
        m = EXTRA_FORBIDDEN_WORDS.search(text) and EXTRA_FORBIDDEN.search(text)
        if m:
            raise AssertionError(f"realistic content holds a dependency fact: {m.group(0)!r}")
        return text

    def fill(self, base, file, pieces):
        """`base` with a header before it and blocks from the iterator `pieces` after it,
        until the file reaches its target size."""
        target, high = self.target_size(file)
        text = self.check(self.header(file)) + "\n" + base
        while len(text) < target:
            # What a piece declares is undone when it does not fit.
            state = (set(self.vars), set(self.locals), set(self.names), list(self.outputs))
            piece = next(pieces, None)
            if piece is None:
                break
            piece = self.check(tf_align(piece))
            if len(text) + 1 + len(piece) > high:
                self.vars, self.locals, self.names, self.outputs = state
                break
            text += "\n" + piece
        return text

    # -- variables.tf -----------------------------------------------------------------------

    def variable(self, name):
        rng = self.rng
        type_, default, desc, validation = VARIABLE_SPECS[name]
        self.vars.add(name)
        if rng.random() < 0.5:
            notes = [n for n in VAR_NOTES if name != "enabled" or "`enabled`" not in n]
            text = " ".join([desc] + rng.sample(notes, rng.randint(1, 3)))
            body = "\n".join("    " + l for l in textwrap.wrap(text, 76))
            description = f"<<-EOT\n{body}\n    EOT"
        else:
            description = json.dumps(desc)
        attrs = [("type", _indent(type_, 2)), ("default", _indent(default, 2))]
        if rng.random() < 0.5:
            attrs.append(("description", description))
        else:
            attrs.insert(0, ("description", description))
        lines = [f'variable "{name}" {{'] + [f"  {k} = {v}" for k, v in attrs]
        if validation and rng.random() < 0.8:
            condition, message = validation
            lines += [
                "",
                "  validation {",
                f"    condition     = {condition}",
                f"    error_message = {json.dumps(message)}",
                "  }",
            ]
        return "\n".join(lines) + "\n}\n"

    def variable_pieces(self, taken):
        names = [n for n in VARIABLE_SPECS if n not in taken]
        self.rng.shuffle(names)
        if "enabled" in names and self.rng.random() < 0.7:
            names.remove("enabled")
            names.insert(0, "enabled")
        for name in names:
            yield self.variable(name)

    # -- main.tf ----------------------------------------------------------------------------

    def locals_block(self):
        rng = self.rng
        lines = ["locals {"]
        if "enabled" in self.vars:
            lines.append("  enabled = var.enabled")
            self.locals.add("enabled")
        label = self.label.split("/", 1)[1]
        lines += [
            f'  component = "{label}"',
            f'  owner     = {self.var("owner_team", json.dumps("platform"))}',
            "",
            "  # Settings that differ per environment; prod runs larger and keeps data longer.",
            "  environment_settings = {",
        ]
        self.locals |= {"component", "owner", "environment_settings", "settings"}
        for env, (size, days, multi) in {
            "dev": ("t3.small", 7, "false"),
            "staging": ("t3.medium", 14, "false"),
            "prod": ("m6i.large", rng.choice([30, 90, 365]), "true"),
        }.items():
            lines += [
                f"    {env} = {{",
                f'      instance_type  = "{size}"',
                f"      retention_days = {days}",
                f"      multi_az       = {multi}",
                "    }",
            ]
        pick = rng.choice(
            [
                "local.environment_settings[var.environment]",
                'lookup(local.environment_settings, var.environment, local.environment_settings["dev"])',
                "try(local.environment_settings[var.environment], local.environment_settings.dev)",
            ]
        )
        if rng.random() >= CHOICE_LOCAL_SHARE:
            pick = (
                'var.environment == "prod" ? local.environment_settings.prod : (\n'
                '    var.environment == "staging" ? local.environment_settings.staging '
                ": local.environment_settings.dev\n"
                "  )"
            )
        extra_tags = ["var.additional_tags"] if "additional_tags" in self.vars else []
        lines += [
            "  }",
            f"  settings = {pick}",
            "",
            f"  common_tags = merge({', '.join([self.tags] + extra_tags)}, {{",
            "    Component = local.component",
            "    Owner     = local.owner",
            "  })",
        ]
        self.locals.add("common_tags")
        if rng.random() < 0.6:
            octet = rng.randint(0, 255)
            lines += [
                "",
                f'  subnet_cidrs  = [for i in range(3) : cidrsubnet("10.{octet}.0.0/16", 4, i)]',
                '  zone_suffixes = { for i, z in ["a", "b", "c"] : z => i }',
            ]
            self.locals |= {"subnet_cidrs", "zone_suffixes"}
        if "ingress_rules" in self.vars:
            lines.append("  ingress_ports = toset([for r in var.ingress_rules : r.from_port])")
            self.locals.add("ingress_ports")
        if self.directives:
            lines += [
                "",
                "  # Shown on every host at login.",
                "  motd = <<-EOT",
                f"    {label} (${{var.environment}})",
                '    %{if var.environment == "prod"~}',
                "    Production host: changes need an approved change request.",
                "    %{else~}",
                "    Non-production host: data here may be reset at any time.",
                "    %{endif~}",
                "    %{for k, v in local.common_tags~}",
                "    ${k} = ${v}",
                "    %{endfor~}",
                "    EOT",
                f'  summary = "{label}%{{if local.settings.multi_az}} (multi-AZ)%{{endif}}"',
            ]
            self.locals |= {"motd", "summary"}
        return "\n".join(lines) + "\n}\n"

    def security_group(self):
        n = self.name("aws_security_group", ["this", "service", "default"])
        addr = f"aws_security_group.{n}"
        if "ingress_rules" in self.vars:
            ingress = (
                "  dynamic \"ingress\" {\n"
                "    for_each = var.ingress_rules\n"
                "    content {\n"
                "      description = ingress.value.description\n"
                "      from_port   = ingress.value.from_port\n"
                "      to_port     = ingress.value.to_port\n"
                "      protocol    = ingress.value.protocol\n"
                "      cidr_blocks = ingress.value.cidr_blocks\n"
                "    }\n"
                "  }\n"
            )
        else:
            ports = self.rng.choice(["[443]", "[80, 443]", "[5432]", "[6379]", "[8080, 9090]"])
            ingress = (
                "  dynamic \"ingress\" {\n"
                f"    for_each = toset({ports})\n"
                "    content {\n"
                '      description = "Port ${ingress.value} from inside the VPC."\n'
                "      from_port   = ingress.value\n"
                "      to_port     = ingress.value\n"
                '      protocol    = "tcp"\n'
                f'      cidr_blocks = concat(["10.0.0.0/8"], {self.var("allowed_cidr_blocks", "[]")})\n'
                "    }\n"
                "  }\n"
            )
        text = (
            f'resource "aws_security_group" "{n}" {{\n'
            + self.count_line()
            + f'  name        = "${{{self.prefix}}}-{n.replace("_", "-")}"\n'
            f'  description = "Traffic to {self.what} in ${{var.environment}}."\n'
            f"  vpc_id      = {self.var('vpc_id', 'null')}\n\n"
            + ingress
            + "\n  egress {\n"
            '    description = "Allow all outbound traffic."\n'
            "    from_port   = 0\n"
            "    to_port     = 0\n"
            '    protocol    = "-1"\n'
            '    cidr_blocks = ["0.0.0.0/0"]\n'
            "  }\n\n"
            f"  tags = merge({self.tags}, {{\n"
            f'    Name = "${{{self.prefix}}}-{n.replace("_", "-")}"\n'
            "  })\n\n"
            "  lifecycle {\n"
            "    create_before_destroy = true\n"
            "  }\n"
            "}\n"
        )
        self.outputs.append(("security_group_id" if n == "this" else f"{n}_security_group_id",
                             self.ref(addr, "id"), "ID of the security group."))
        return text

    def log_group(self):
        n = self.name("aws_cloudwatch_log_group", ["this", "application", "audit"])
        addr = f"aws_cloudwatch_log_group.{n}"
        default = "local.settings.retention_days" if "settings" in self.locals else "30"
        retention = self.var("log_retention_days", default)
        text = (
            f'resource "aws_cloudwatch_log_group" "{n}" {{\n'
            + self.count_line()
            + f'  name              = "/strata/${{var.environment}}/{self.what}/{n}"\n'
            f"  retention_in_days = {retention}\n"
            f"  kms_key_id        = {self.var('kms_key_arn', 'null')}\n"
            f"  tags              = {self.tags}\n"
            "}\n"
        )
        self.outputs.append((f"log_group_{n}_name", self.ref(addr, "name"), "Name of the log group."))
        self.outputs.append((f"log_group_{n}_arn", self.ref(addr, "arn"), "ARN of the log group."))
        return text

    def iam_role(self):
        rng = self.rng
        n = self.name("aws_iam_role", ["this", "service", "task"])
        service = rng.choice(["ec2", "ecs-tasks", "lambda", "eks", "rds", "monitoring.rds"])
        policies = rng.sample(
            [
                "CloudWatchAgentServerPolicy",
                "AmazonSSMManagedInstanceCore",
                "AmazonEC2ContainerRegistryReadOnly",
                "AWSXrayWriteOnlyAccess",
                "AmazonS3ReadOnlyAccess",
            ],
            rng.randint(1, 3),
        )
        arns = "".join(f'    "arn:aws:iam::aws:policy/{p}",\n' for p in sorted(policies))
        text = (
            f'resource "aws_iam_role" "{n}" {{\n'
            f'  name = "${{{self.prefix}}}-{n.replace("_", "-")}"\n'
            f'  description = "Role assumed by {service} for {self.label}."\n'
            "  max_session_duration = 3600\n"
            "  assume_role_policy = <<-EOT\n"
            "    {\n"
            '      "Version": "2012-10-17",\n'
            '      "Statement": [\n'
            "        {\n"
            '          "Effect": "Allow",\n'
            f'          "Principal": {{ "Service": "{service}.amazonaws.com" }},\n'
            '          "Action": "sts:AssumeRole"\n'
            "        }\n"
            "      ]\n"
            "    }\n"
            "    EOT\n"
            f"  tags = {self.tags}\n"
            "}\n\n"
            f'resource "aws_iam_role_policy_attachment" "{n}" {{\n'
            "  for_each = toset([\n" + arns + "  ])\n\n"
            f"  role       = aws_iam_role.{n}.name\n"
            "  policy_arn = each.value\n"
            "}\n"
        )
        self.names.add(("aws_iam_role_policy_attachment", n))
        self.outputs.append((f"role_{n}_arn", f"aws_iam_role.{n}.arn", "ARN of the IAM role."))
        return text

    def caller_identity(self):
        if ("data.aws_caller_identity", "current") in self.names:
            return ""
        self.names.add(("data.aws_caller_identity", "current"))
        return 'data "aws_caller_identity" "current" {}\n\n'

    def policy_document(self):
        rng = self.rng
        n = self.name("data.aws_iam_policy_document", ["this", "access", "read"])
        pre = self.caller_identity()
        bucket = f"${{{self.prefix}}}-{rng.choice(['artifacts', 'data', 'exports', 'reports'])}"
        region = "var.region" if self.root else '"eu-west-1"'
        text = (
            pre + f'data "aws_iam_policy_document" "{n}" {{\n'
            "  statement {\n"
            '    sid     = "ReadObjects"\n'
            '    effect  = "Allow"\n'
            '    actions = ["s3:GetObject", "s3:ListBucket"]\n'
            "    resources = [\n"
            f'      "arn:aws:s3:::{bucket}",\n'
            f'      "arn:aws:s3:::{bucket}/*",\n'
            "    ]\n\n"
            "    principals {\n"
            '      type        = "AWS"\n'
            '      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]\n'
            "    }\n\n"
            "    condition {\n"
            '      test     = "StringEquals"\n'
            '      variable = "aws:RequestedRegion"\n'
            f"      values   = [{region}]\n"
            "    }\n"
            "  }\n\n"
            "  statement {\n"
            '    sid       = "DenyInsecureTransport"\n'
            '    effect    = "Deny"\n'
            '    actions   = ["s3:*"]\n'
            f'    resources = ["arn:aws:s3:::{bucket}/*"]\n\n'
            "    principals {\n"
            '      type        = "*"\n'
            '      identifiers = ["*"]\n'
            "    }\n\n"
            "    condition {\n"
            '      test     = "Bool"\n'
            '      variable = "aws:SecureTransport"\n'
            '      values   = ["false"]\n'
            "    }\n"
            "  }\n"
        )
        if "iam_policy_statements" in self.vars:
            text += (
                "\n  dynamic \"statement\" {\n"
                "    for_each = var.iam_policy_statements\n"
                "    content {\n"
                "      sid       = statement.key\n"
                '      effect    = lookup(statement.value, "effect", "Allow")\n'
                "      actions   = statement.value.actions\n"
                "      resources = statement.value.resources\n"
                "    }\n"
                "  }\n"
            )
        text += "}\n"
        self.outputs.append((f"policy_{n}_json", f"data.aws_iam_policy_document.{n}.json",
                             "The access policy, as JSON."))
        return text

    def metric_alarm(self):
        rng = self.rng
        metric, ns, key = rng.choice(
            [
                ("CPUUtilization", "AWS/EC2", "cpu_high"),
                ("MemoryUtilization", "CWAgent", "memory_high"),
                ("FreeStorageSpace", "AWS/RDS", "disk_free_low"),
            ]
        )
        n = self.name("aws_cloudwatch_metric_alarm", [key])
        default = {"cpu_high": 80, "memory_high": 85, "disk_free_low": 10}[key]
        threshold = f"var.alarm_thresholds.{key}" if "alarm_thresholds" in self.vars else str(default)
        op = "LessThanThreshold" if key == "disk_free_low" else "GreaterThanThreshold"
        actions = self.var("alarm_actions", "[]")
        text = (
            f'resource "aws_cloudwatch_metric_alarm" "{n}" {{\n'
            + self.count_line()
            + f'  alarm_name = "${{{self.prefix}}}-{n.replace("_", "-")}"\n'
            f'  alarm_description = "{metric} of {self.what} in ${{var.environment}} crossed its '
            'threshold for 15 minutes."\n'
            f'  comparison_operator = "{op}"\n'
            "  evaluation_periods = 3\n"
            f'  metric_name = "{metric}"\n'
            f'  namespace = "{ns}"\n'
            "  period = 300\n"
            '  statistic = "Average"\n'
            f"  threshold = {threshold}\n"
            '  treat_missing_data = "notBreaching"\n'
            f"  alarm_actions = {actions}\n"
            f"  ok_actions = {actions}\n\n"
            "  dimensions = {\n"
            f'    Component = "{self.what}"\n'
            "    Environment = var.environment\n"
            "  }\n\n"
            f"  tags = {self.tags}\n"
            "}\n"
        )
        self.outputs.append((f"alarm_{n}_arn", self.ref(f"aws_cloudwatch_metric_alarm.{n}", "arn"),
                             f"ARN of the {metric} alarm."))
        return text

    def kms_key(self):
        n = self.name("aws_kms_key", ["this", "data", "logs"])
        pre = self.caller_identity()
        text = (
            pre + f'resource "aws_kms_key" "{n}" {{\n'
            f'  description = "Encrypts the {"logs" if n == "logs" else "data"} of {self.label}."\n'
            '  deletion_window_in_days = var.environment == "prod" ? 30 : 7\n'
            "  enable_key_rotation = true\n"
            "  policy = jsonencode({\n"
            '    Version = "2012-10-17"\n'
            "    Statement = [\n"
            "      {\n"
            '        Sid = "EnableRootPermissions"\n'
            '        Effect = "Allow"\n'
            "        Principal = "
            '{ AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }\n'
            '        Action = "kms:*"\n'
            '        Resource = "*"\n'
            "      },\n"
            "      {\n"
            '        Sid = "AllowCloudWatchLogs"\n'
            '        Effect = "Allow"\n'
            '        Principal = { Service = "logs.amazonaws.com" }\n'
            '        Action = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", '
            '"kms:GenerateDataKey*", "kms:Describe*"]\n'
            '        Resource = "*"\n'
            "      },\n"
            "    ]\n"
            "  })\n\n"
            f"  tags = {self.tags}\n"
            "}\n\n"
            f'resource "aws_kms_alias" "{n}" {{\n'
            f'  name = "alias/${{{self.prefix}}}-{n}"\n'
            f"  target_key_id = aws_kms_key.{n}.key_id\n"
            "}\n"
        )
        self.names.add(("aws_kms_alias", n))
        self.outputs.append((f"kms_key_{n}_arn", f"aws_kms_key.{n}.arn", "ARN of the KMS key."))
        self.outputs.append((f"kms_alias_{n}", f"aws_kms_alias.{n}.name", "Alias of the KMS key."))
        return text

    def ssm_parameters(self):
        n = self.name("aws_ssm_parameter", ["this", "settings", "config"])
        if "ssm_parameters" in self.vars:
            head = "  for_each = var.ssm_parameters\n"
            attrs = (
                "  description = each.value.description\n"
                "  type = each.value.type\n"
                "  value = each.value.value\n"
            )
        else:
            head = (
                "  for_each = {\n"
                f'    "log-level" = {self.var("log_level", json.dumps("info"))}\n'
                '    "request-timeout" = "30"\n'
                f'    "owner" = "{self.what}"\n'
                "  }\n"
            )
            attrs = (
                '  description = "Setting ${each.key} of the service."\n'
                '  type = "String"\n'
                "  value = each.value\n"
            )
        text = (
            f'resource "aws_ssm_parameter" "{n}" {{\n'
            + head
            + "\n"
            + f'  name = "/${{var.environment}}/{self.label}/${{each.key}}"\n'
            + attrs
            + '  tier = "Standard"\n'
            "  overwrite = true\n"
            f"  tags = {self.tags}\n"
            "}\n"
        )
        self.outputs.append(
            (f"parameter_{n}_arns", f"{{\n  for k, p in aws_ssm_parameter.{n} : k => p.arn\n}}",
             "ARNs of the SSM parameters, by name.")
        )
        return text

    def target_group(self):
        rng = self.rng
        n = self.name("aws_lb_target_group", ["this", "http", "blue"])
        port = self.var("port", str(rng.choice([8080, 8000, 3000, 9000])))
        if "health_check" in self.vars:
            hc = [f"    {k} = var.health_check.{k}" for k in
                  ("path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher")]
        else:
            hc = [
                '    path = "/healthz"',
                "    interval = 15",
                "    timeout = 5",
                "    healthy_threshold = 2",
                "    unhealthy_threshold = 3",
                '    matcher = "200-399"',
            ]
        text = (
            f'resource "aws_lb_target_group" "{n}" {{\n'
            + self.count_line()
            + f'  name = substr("${{{self.prefix}}}-{n}", 0, 32)\n'
            f"  port = {port}\n"
            '  protocol = "HTTP"\n'
            '  target_type = "ip"\n'
            f"  vpc_id = {self.var('vpc_id', 'null')}\n"
            "  deregistration_delay = 30\n\n"
            "  health_check {\n    enabled = true\n" + "\n".join(hc) + "\n  }\n\n"
            "  stickiness {\n"
            '    type = "lb_cookie"\n'
            "    enabled = false\n"
            "    cookie_duration = 86400\n"
            "  }\n\n"
            f"  tags = {self.tags}\n\n"
            "  lifecycle {\n"
            "    create_before_destroy = true\n"
            "    ignore_changes = [name]\n"
            "  }\n"
            "}\n"
        )
        self.outputs.append((f"target_group_{n}_arn", self.ref(f"aws_lb_target_group.{n}", "arn"),
                             "ARN of the target group."))
        return text

    def bucket(self):
        n = self.name("aws_s3_bucket", ["this", "artifacts", "logs"])
        kms = self.var("kms_key_arn", "null")
        text = (
            f'resource "aws_s3_bucket" "{n}" {{\n'
            f'  bucket = lower("${{{self.prefix}}}-{n}")\n'
            '  force_destroy = var.environment != "prod"\n'
            f"  tags = {self.tags}\n"
            "}\n\n"
            f'resource "aws_s3_bucket_server_side_encryption_configuration" "{n}" {{\n'
            f"  bucket = aws_s3_bucket.{n}.id\n\n"
            "  rule {\n"
            f"    bucket_key_enabled = {kms} != null\n\n"
            "    apply_server_side_encryption_by_default {\n"
            f'      sse_algorithm = {kms} == null ? "AES256" : "aws:kms"\n'
            f"      kms_master_key_id = {kms}\n"
            "    }\n"
            "  }\n"
            "}\n\n"
            f'resource "aws_s3_bucket_public_access_block" "{n}" {{\n'
            f"  bucket = aws_s3_bucket.{n}.id\n"
            "  block_public_acls = true\n"
            "  block_public_policy = true\n"
            "  ignore_public_acls = true\n"
            "  restrict_public_buckets = true\n"
            "}\n"
        )
        if "lifecycle_rules" in self.vars:
            text += (
                f'\nresource "aws_s3_bucket_lifecycle_configuration" "{n}" {{\n'
                f"  bucket = aws_s3_bucket.{n}.id\n\n"
                '  dynamic "rule" {\n'
                "    for_each = { for r in var.lifecycle_rules : r.id => r }\n"
                "    content {\n"
                "      id = rule.key\n"
                '      status = rule.value.enabled ? "Enabled" : "Disabled"\n\n'
                "      filter {\n"
                "        prefix = rule.value.prefix\n"
                "      }\n\n"
                "      expiration {\n"
                "        days = rule.value.expiration_days\n"
                "      }\n\n"
                "      noncurrent_version_expiration {\n"
                "        noncurrent_days = rule.value.noncurrent_version_expiration_days\n"
                "      }\n"
                "    }\n"
                "  }\n"
                "}\n"
            )
            self.names.add(("aws_s3_bucket_lifecycle_configuration", n))
        for t in ("aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_public_access_block"):
            self.names.add((t, n))
        self.outputs.append((f"bucket_{n}_id", f"aws_s3_bucket.{n}.id", "Name of the bucket."))
        self.outputs.append((f"bucket_{n}_arn", f"aws_s3_bucket.{n}.arn", "ARN of the bucket."))
        return text

    def launch_template(self):
        rng = self.rng
        n = self.name("aws_launch_template", ["this", "nodes", "workers"])
        ami = json.dumps("ami-0" + format(rng.getrandbits(64), "016x"))
        default = "local.settings.instance_type" if "settings" in self.locals else '"t3.medium"'
        instance_type = self.var("instance_type", default)
        if self.directives:
            script = (
                "    %{for k, v in " + self.tags + "~}\n"
                '    echo "tag_${k}=${v}" >> /etc/instance-tags\n'
                "    %{endfor~}\n"
                '    %{if var.environment == "prod"~}\n'
                "    systemctl enable --now amazon-cloudwatch-agent\n"
                "    %{endif~}\n"
            )
        else:
            script = '    echo "component=' + self.what + '" >> /etc/environment\n'
        text = (
            f'resource "aws_launch_template" "{n}" {{\n'
            f'  name_prefix = "${{{self.prefix}}}-{n}-"\n'
            f"  image_id = {self.var('image_id', ami)}\n"
            f"  instance_type = {instance_type}\n"
            "  ebs_optimized = true\n\n"
            "  user_data = base64encode(<<-EOT\n"
            "    #!/bin/bash\n"
            "    set -euo pipefail\n"
            '    echo "environment=${var.environment}" >> /etc/environment\n'
            + script
            + "    EOT\n"
            "  )\n\n"
            "  metadata_options {\n"
            '    http_endpoint = "enabled"\n'
            '    http_tokens = "required"\n'
            "    http_put_response_hop_limit = 1\n"
            "  }\n\n"
            "  block_device_mappings {\n"
            '    device_name = "/dev/xvda"\n\n'
            "    ebs {\n"
            f"      volume_size = {self.var('storage_size_gb', str(rng.choice([20, 50, 100])))}\n"
            '      volume_type = "gp3"\n'
            "      encrypted = true\n"
            f"      kms_key_id = {self.var('kms_key_arn', 'null')}\n"
            "      delete_on_termination = true\n"
            "    }\n"
            "  }\n\n"
            '  dynamic "tag_specifications" {\n'
            '    for_each = toset(["instance", "volume"])\n'
            "    content {\n"
            "      resource_type = tag_specifications.value\n"
            f"      tags = {self.tags}\n"
            "    }\n"
            "  }\n\n"
            "  lifecycle {\n"
            "    create_before_destroy = true\n"
            "  }\n"
            "}\n"
        )
        self.outputs.append(
            (f"launch_template_{n}_id", f"aws_launch_template.{n}.id", "ID of the launch template.")
        )
        return text

    def commented_out(self):
        if ("aws_flow_log", "this") in self.names:
            return ""
        n = self.name("aws_flow_log", ["this"])
        return (
            "# Flow logs stay off until the log archive account accepts them; to turn them on,\n"
            "# uncomment this block and the log group it writes to.\n"
            "#\n"
            f'# resource "aws_flow_log" "{n}" {{\n'
            f"#   vpc_id          = {self.var('vpc_id', 'null')}\n"
            '#   traffic_type    = "ALL"\n'
            "#   log_destination = aws_cloudwatch_log_group.flow_logs.arn\n"
            "# }\n"
        )

    RESOURCES = [
        ("security_group", "Security group"),
        ("log_group", "Logs"),
        ("iam_role", "IAM"),
        ("policy_document", "Access policy"),
        ("metric_alarm", "Alarms"),
        ("kms_key", "Encryption"),
        ("ssm_parameters", "Settings in SSM Parameter Store"),
        ("target_group", "Load balancing"),
        ("bucket", "Storage"),
        ("launch_template", "Nodes"),
        ("commented_out", "Flow logs"),
    ]

    def main_pieces(self):
        rng = self.rng
        yield self.locals_block()
        order = list(self.RESOURCES)
        rng.shuffle(order)
        if self.directives:
            # The template directive in user_data too, when it fits.
            order.sort(key=lambda r: r[0] != "launch_template")
        while True:
            for method, topic in order:
                body = getattr(self, method)()
                if body:
                    yield self.section(topic) + body

    # -- outputs.tf -------------------------------------------------------------------------

    def output_pieces(self):
        rng = self.rng
        outputs = list(self.outputs)
        if "common_tags" in self.locals:
            outputs.append(("tags", "local.common_tags", "Tags applied to every resource."))
        if "settings" in self.locals:
            outputs.append(("settings", "local.settings", "The settings of this environment."))
        if self.enabled():
            outputs.append(("enabled", "local.enabled", "Whether the resources were created."))
        # Inputs passed through, for the dependents that need them too.
        for name in sorted(self.vars - {"enabled"}):
            outputs.append((name, f"var.{name}", f"The {name} input, as given."))
        seen = {"id", "name"}
        for name, value, desc in outputs:
            if name in seen:
                continue
            seen.add(name)
            if rng.random() < 0.4:
                desc = desc + " " + rng.choice(
                    [
                        "Null when the resources are disabled.",
                        "Stable across applies unless the resource is replaced.",
                        "Read by the stacks that depend on this one.",
                        "Exported for the dashboards.",
                    ]
                )
            lines = [
                f'output "{name}" {{',
                f"  description = {json.dumps(desc)}",
                f"  value = {_indent(value, 2)}",
            ]
            if name.endswith("_json") and rng.random() < 0.5:
                lines.append("  sensitive = false")
            yield "\n".join(lines) + "\n}\n"

    # -- versions.tf ------------------------------------------------------------------------

    def versions(self):
        rng = self.rng
        providers = [("aws", "hashicorp/aws", rng.choice(['">= 4.9.0"', '"~> 5.0"', '">= 5.30, < 6.0"']))]
        providers.append(("null", "hashicorp/null", '"~> 3.2"'))
        for name, source, version in [
            ("random", "hashicorp/random", '">= 3.5"'),
            ("tls", "hashicorp/tls", '">= 4.0"'),
            ("time", "hashicorp/time", '">= 0.9"'),
        ]:
            if rng.random() < 0.3:
                providers.append((name, source, version))
        body = "".join(
            f"    {name} = {{\n      source  = \"{source}\"\n      version = {version}\n    }}\n"
            for name, source, version in providers
        )
        text = (
            self.header("versions.tf", short=True)
            + "\nterraform {\n"
            '  required_version = ">= 1.0.0"\n\n'
            "  required_providers {\n" + body + "  }\n}\n"
        )
        if self.root:
            region = "var.region"
            text += (
                "\n" + _comment(rng, ["Credentials come from the environment; the role below is assumed "
                                      "for every call."], style="#")
                + 'provider "aws" {\n'
                f"  region = {region}\n\n"
                "  assume_role {\n"
                '    role_arn     = "arn:aws:iam::123456789012:role/terraform-${var.environment}"\n'
                f'    session_name = "strata-{self.label.split("/", 1)[1]}"\n'
                "  }\n\n"
                "  default_tags {\n"
                "    tags = {\n"
                "      ManagedBy   = \"strata\"\n"
                "      Environment = var.environment\n"
                "    }\n"
                "  }\n"
                "}\n"
            )
        return self.check(text)

    # -- all files --------------------------------------------------------------------------

    def expand(self, files, base_vars):
        """The realistic text of each file of `files` (name -> small text), which has
        main.tf and variables.tf, and may have outputs.tf and versions.tf."""
        out = dict(files)
        variables = self.variable_pieces(base_vars)
        out["variables.tf"] = self.fill(files["variables.tf"], "variables.tf", variables)
        out["main.tf"] = self.fill(files["main.tf"], "main.tf", self.main_pieces())
        if "outputs.tf" in files:
            out["outputs.tf"] = self.fill(files["outputs.tf"], "outputs.tf", self.output_pieces())
        if "versions.tf" in files:
            out["versions.tf"] = self.versions()
        return out


# -- writing ---------------------------------------------------------------------------------


class Writer:
    def __init__(self, root):
        self.root = root
        self.count = 0
        self.tf_files = 0
        self.tf_bytes = 0
        self.tf_directives = 0  # .tf files with a template directive
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
        if rel.endswith(".tf"):
            self.tf_files += 1
            self.tf_bytes += len(text.encode("utf-8"))
            self.tf_directives += "%{" in text


def package_name(label):
    kind, name = label.split("/", 1)
    return {"stacks": "stack", "modules": "module", "charts": "chart"}[kind] + "-" + name


def generate(ws, out, file_size="small"):
    w = Writer(out)
    edges = ws.edges()
    packages = {}  # label -> (package name, dependency package names)
    for label, deps in edges.items():
        packages[label] = (package_name(label), [package_name(d) for d in deps])

    w.write("WORKSPACE.toml", WORKSPACE_TOML)
    w.write(".gitignore", GITIGNORE)
    args = f"--stacks {ws.n_stacks} --seed {ws.seed}"
    if file_size != "small":
        args += f" --file-size {file_size}"
    w.write("README.md", f"# synthetic\n\nGenerated by bench/gen_workspace.py {args}.\n")

    for m in ws.modules:
        d = f"modules/{m['name']}"
        tf = {
            "main.tf": module_main_tf(m),
            "variables.tf": module_variables_tf(m),
            "outputs.tf": module_outputs_tf(m),
        }
        if m["layer"] > 0:
            tf["versions.tf"] = versions_tf()
        if file_size == "realistic":
            tf = TfExtras(ws.seed, d, m["kind"], root=False).expand(tf, {"name", "environment", "tags"})
        for name, text in tf.items():
            w.write(f"{d}/{name}", text)
        w.write(f"{d}/package.json", package_json(*packages[d]))

    for s in ws.stacks:
        d = f"stacks/{s['name']}"
        tf = {"main.tf": stack_main_tf(ws, s), "variables.tf": stack_variables_tf(ws, s)}
        if s["has_outputs_file"]:
            tf["outputs.tf"] = stack_outputs(s)
        if s["has_versions_file"]:
            tf["versions.tf"] = versions_tf()
        if file_size == "realistic":
            base_vars = {"environment", "region", "instance_count"} | {v for v, _ in stack_inputs(ws, s)}
            tf = TfExtras(ws.seed, d, s["role"], root=True).expand(tf, base_vars)
        for name, text in tf.items():
            w.write(f"{d}/{name}", text)
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
        # Everything above is the same for both file sizes; the rest describes the files.
        "file_size": file_size,
        "tf_files": w.tf_files,
        "tf_bytes": w.tf_bytes,
        "tf_mean_bytes": round(w.tf_bytes / max(w.tf_files, 1)),
        "tf_files_with_template_directives": w.tf_directives,
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
    p.add_argument(
        "--file-size",
        choices=FILE_SIZES,
        default="small",
        help="small: short .tf files (the default); realistic: about 2 KB per .tf file",
    )
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
    count, meta, _ = generate(ws, out, args.file_size)
    git(out, "init", "-q", "-b", "main")
    git(out, "add", "-A")
    sizes = "" if args.file_size == "small" else f", {args.file_size} .tf sizes"
    git(out, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m",
        f"Synthetic workspace: {args.stacks} stacks, seed {args.seed}{sizes}")
    if not args.quiet:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=out, capture_output=True,
                              text=True, check=True).stdout.strip()
        print(
            f"{out}: {count} files, {meta['targets']} targets "
            f"({meta['stacks']} stacks, {meta['modules']} modules, {meta['charts']} charts), "
            f"{meta['edges']} edges, {meta['tf_files']} .tf files of {meta['tf_mean_bytes']} bytes "
            f"on average, commit {head[:12]}; "
            f"{meta['changed_module']} affects {meta['expected_affected']} targets",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
