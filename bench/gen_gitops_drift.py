#!/usr/bin/env python3
"""Generate workspaces for benchmarking `strata gitops render` and `strata drift`.

    python3 bench/gen_gitops_drift.py charts --out DIR [--charts 1000] [--seed 42] [--meta FILE]
    python3 bench/gen_gitops_drift.py stacks --out DIR [--stacks 100] [--seed 42] [--meta FILE]

Each output is a git repository (branch `main`, one commit with fixed author, committer and
dates, so the same arguments give the same commit id) with the toolchain of this repository's
WORKSPACE.toml (terraform 1.0.3, helm 4.1.4, `tools_dir = ".tools/bin"`,
`terraform_cli_config = ".tools/terraform.rc"`); `.tools` is ignored by git and is for the
caller to link. Only `dev` is an environment (`environments/dev/env.toml`).

`charts`: N application charts and two library charts, shaped like the Kubernetes side of
an infrastructure monorepo, with `[gitops] repo_url` set:

* `charts/platform-lib` (library: names, labels, Deployment, Service, ConfigMap,
  ServiceAccount, HorizontalPodAutoscaler, PodDisruptionBudget, Ingress) and
  `charts/observability-lib` (library: scrape annotations, a dashboard ConfigMap);
* about 20 shared platform charts (`ingress-gateway`, `otel-collector`, `feature-flags`,
  ...) and services named `<domain>-<component>` (`payments-api`, `search-indexer`, ...);
* about 80% of the charts include platform-lib (`repository: "file://../platform-lib"`),
  about 15% of those observability-lib too; the other 20% carry their own templates and
  `_helpers.tpl`; every chart renders a Deployment (a CronJob too for cron and batch
  components), a Service and a ConfigMap, and about half a ServiceAccount,
  HorizontalPodAutoscaler, PodDisruptionBudget or Ingress; about 10% have a
  `values.schema.json`;
* `values.yaml` (60-110 lines: image, resources, probes, security contexts, env, an
  application config file) and `environments/dev/charts/<name>/values.yaml` (replicas,
  image tag, log level, feature flags, hosts, smaller resources);
* about 45% have a `chart.toml` whose `deps` name 1-3 other charts: a domain's services on
  its API, some on shared platform charts, a few on another domain's API (graph depth 4-5).

`stacks`: N null-provider stacks (null 2.1.2, served by the offline mirror) in three
layers: foundation (`network-<region>`, `iam-baseline`, `kms-keys`, `dns-root`), platform
(`eks-<region>-<i>`, `postgres-...`, `redis-...`, `kafka-...`) on their region's network,
and services on 1-3 platform or foundation stacks, reading their outputs through
`stack.toml` `[inputs]`. Each stack calls 1-2 of 5 local modules and has 3-9 resources;
`environments/dev/stacks/<name>/terraform.tfvars` holds its settings.

`--meta` gets a JSON summary (counts, edges, depth, files).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys

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

TOOLCHAIN = """[toolchain]
terraform = "1.0.3"
helm = "4.1.4"
tools_dir = ".tools/bin"
terraform_cli_config = ".tools/terraform.rc"
"""

DEV_ENV = """# Development: every merge to main deploys here straight away.

[gates]
require = ["plan"]
approvals = 0
soak = "0m"

[state]
backend = "local"
"""

DOMAINS = [
    "payments", "billing", "checkout", "cart", "orders", "catalog", "inventory", "pricing",
    "search", "recommendations", "reviews", "shipping", "returns", "identity", "auth",
    "profile", "notifications", "email", "sms", "ledger", "risk", "fraud", "media",
    "thumbnails", "analytics", "reporting", "audit", "experiments", "loyalty", "coupons",
    "tax", "invoicing", "subscriptions", "support", "chat", "geo", "maps", "partner",
    "vendor", "warehouse", "fulfilment", "content", "cms", "i18n", "sessions", "webhooks",
    "exports", "imports", "scheduler", "ml-features", "ml-serving", "etl", "streaming",
    "kyc", "compliance", "onboarding", "wishlist", "gift-cards", "bundles", "marketplace",
]
# The API comes first: a domain's other components may depend on it.
COMPONENTS = [
    "api", "worker", "consumer", "frontend", "bff", "cron", "indexer", "grpc", "events",
    "admin", "sync", "batch", "stream", "gateway", "cache-warmer", "exporter", "webhook",
    "reconciler", "projector", "notifier",
]
SHARED = [
    ("cert-issuer", []), ("external-dns", []), ("ingress-gateway", ["cert-issuer"]),
    ("otel-collector", []), ("log-shipper", ["otel-collector"]),
    ("feature-flags", []), ("schema-registry", []), ("oauth-proxy", ["ingress-gateway"]),
    ("rate-limiter", ["ingress-gateway"]), ("secrets-sync", []), ("config-server", []),
    ("service-mesh-config", []), ("redis-shared", []), ("kafka-topics", ["schema-registry"]),
    ("postgres-proxy", ["secrets-sync"]), ("image-proxy", []), ("smtp-relay", []),
    ("cron-runner", ["config-server"]), ("audit-sink", ["kafka-topics"]),
    ("edge-cache", ["ingress-gateway"]),
]
WEB = {"api", "frontend", "bff", "gateway", "admin", "grpc", "webhook"}
JOBS = {"cron", "batch", "reconciler", "exporter"}
TEAMS = ["storefront", "orders", "platform", "growth", "data", "trust", "fintech",
         "logistics", "identity", "content"]


def write(root, rel, text, files):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    files.append(rel)


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def to_yaml(value, indent=0):
    """A small YAML writer for dicts, lists and scalars (enough for values files)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        for k, v in value.items():
            key = k if all(c.isalnum() or c in "-_./" for c in k) else json.dumps(k)
            if isinstance(v, dict) and v:
                lines.append(f"{pad}{key}:\n" + to_yaml(v, indent + 2))
            elif isinstance(v, list) and v:
                lines.append(f"{pad}{key}:\n" + to_yaml(v, indent + 2))
            elif isinstance(v, dict):
                lines.append(f"{pad}{key}: {{}}\n")
            elif isinstance(v, list):
                lines.append(f"{pad}{key}: []\n")
            elif isinstance(v, str) and "\n" in v:
                body = "".join(f"{pad}  {line}\n" for line in v.rstrip("\n").split("\n"))
                lines.append(f"{pad}{key}: |\n{body}")
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(v)}\n")
        return "".join(lines)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                inner = to_yaml(item, indent + 2)
                lines.append(pad + "- " + inner[indent + 2:])
            else:
                lines.append(f"{pad}- {yaml_scalar(item)}\n")
        return "".join(lines)
    return pad + yaml_scalar(value) + "\n"


def git_commit(out, message):
    env = dict(os.environ, **GIT_ENV)

    def git(*a):
        subprocess.run(["git", "-C", out, *a], check=True, env=env, stdout=subprocess.DEVNULL)

    git("init", "-q", "-b", "main")
    git("config", "user.email", GIT_ENV["GIT_AUTHOR_EMAIL"])
    git("config", "user.name", GIT_ENV["GIT_AUTHOR_NAME"])
    git("add", "-A")
    git("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message)


def prepare(out, force):
    if os.path.exists(out):
        if not force and os.listdir(out):
            sys.exit(f"{out} exists and is not empty (use --force)")
        shutil.rmtree(out)
    os.makedirs(out)


def depth_of(edges):
    depth = {}

    def d(label):
        if label not in depth:
            depth[label] = 0
            depth[label] = 1 + max((d(x) for x in edges.get(label, [])), default=-1)
        return depth[label]

    for label in edges:
        d(label)
    return depth


# --- charts ---------------------------------------------------------------------------------

PLATFORM_LIB = {
    "Chart.yaml": """apiVersion: v2
name: platform-lib
description: Shared named templates (names, labels, Deployment, Service, ConfigMap, autoscaling) for Acme services.
type: library
version: 0.7.2
keywords:
  - acme
  - library
maintainers:
  - name: platform-team
    email: platform@acme.example
""",
    "values.yaml": """# platform-lib is a library chart: it renders nothing by itself and its
# templates read the values of the application chart that includes them.
""",
    "templates/_helpers.tpl": """{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "platform-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, unless it lacks the chart's. */}}
{{- define "platform-lib.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "platform-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: never change them on a live release. */}}
{{- define "platform-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "platform-lib.labels" -}}
helm.sh/chart: {{ include "platform-lib.chart" . }}
{{ include "platform-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: acme
{{- with .Values.global }}{{ with .environment }}
acme.io/environment: {{ . | quote }}
{{- end }}{{ end }}
{{- with .Values.team }}
acme.io/team: {{ . | quote }}
{{- end }}
{{- end }}

{{/* The image, pinned: "latest" is refused. */}}
{{- define "platform-lib.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if or (eq $tag "") (eq $tag "latest") }}
{{- fail "image.tag must be pinned to a release version (\\"latest\\" is not allowed)" }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{- define "platform-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "platform-lib.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "platform-lib.podSecurityContext" -}}
{{- $defaults := dict "runAsNonRoot" true "runAsUser" 10001 "runAsGroup" 10001 "fsGroup" 10001 "seccompProfile" (dict "type" "RuntimeDefault") }}
{{- toYaml (merge (deepCopy (.Values.podSecurityContext | default dict)) $defaults) }}
{{- end }}

{{- define "platform-lib.securityContext" -}}
{{- $defaults := dict "runAsNonRoot" true "readOnlyRootFilesystem" true "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) }}
{{- toYaml (merge (deepCopy (.Values.securityContext | default dict)) $defaults) }}
{{- end }}

{{- define "platform-lib.resources" -}}
{{- $resources := required "resources must be set" .Values.resources }}
{{- $_ := required "resources.requests must be set" $resources.requests }}
{{- toYaml $resources }}
{{- end }}
""",
    "templates/_deployment.tpl": """{{/*
Deployment for a stateless service.
  {{ include "platform-lib.deployment" (dict "context" $ "component" "api" "annotations" (dict)) }}
*/}}
{{- define "platform-lib.deployment" -}}
{{- $ctx := required "platform-lib.deployment needs a context" .context }}
{{- $values := $ctx.Values }}
{{- $component := .component | default $ctx.Chart.Name }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "platform-lib.fullname" $ctx }}
  labels:
    {{- include "platform-lib.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ $component }}
spec:
  {{- if not (and $values.autoscaling $values.autoscaling.enabled) }}
  replicas: {{ $values.replicaCount | default 1 }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "platform-lib.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ toJson $values.config | sha256sum | trunc 16 }}
        {{- with .annotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "platform-lib.labels" $ctx | nindent 8 }}
        app.kubernetes.io/component: {{ $component }}
    spec:
      serviceAccountName: {{ include "platform-lib.serviceAccountName" $ctx }}
      automountServiceAccountToken: false
      {{- with $values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds | default 30 }}
      securityContext:
        {{- include "platform-lib.podSecurityContext" $ctx | nindent 8 }}
      containers:
        - name: {{ $component }}
          image: {{ include "platform-lib.image" $ctx | quote }}
          imagePullPolicy: {{ $values.image.pullPolicy | default "IfNotPresent" }}
          {{- with $values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $values.containerPort }}
              protocol: TCP
            {{- with $values.metricsPort }}
            - name: metrics
              containerPort: {{ . }}
              protocol: TCP
            {{- end }}
          env:
            {{- range $name, $value := $values.env }}
            - name: {{ $name }}
              value: {{ $value | toString | quote }}
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "platform-lib.fullname" $ctx }}-env
            {{- with $values.envFromSecret }}
            - secretRef:
                name: {{ . }}
            {{- end }}
          {{- with $values.probes }}
          {{- if .enabled }}
          readinessProbe:
            httpGet:
              path: {{ .readinessPath | default "/readyz" }}
              port: http
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: {{ .livenessPath | default "/healthz" }}
              port: http
            initialDelaySeconds: {{ .initialDelaySeconds | default 10 }}
            periodSeconds: 20
          {{- end }}
          {{- end }}
          resources:
            {{- include "platform-lib.resources" $ctx | nindent 12 }}
          securityContext:
            {{- include "platform-lib.securityContext" $ctx | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/{{ $ctx.Chart.Name }}
              readOnly: true
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: config
          configMap:
            name: {{ include "platform-lib.fullname" $ctx }}
        - name: tmp
          emptyDir:
            sizeLimit: {{ $values.tmpSizeLimit | default "64Mi" }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $values.topologySpread }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "platform-lib.selectorLabels" $ctx | nindent 14 }}
      {{- end }}
{{- end }}
""",
    "templates/_service.tpl": """{{- define "platform-lib.service" -}}
{{- $service := .Values.service | default dict }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
  {{- with $service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $service.type | default "ClusterIP" }}
  selector:
    {{- include "platform-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ $service.port | default 80 }}
      targetPort: http
      protocol: TCP
    {{- with .Values.metricsPort }}
    - name: metrics
      port: {{ . }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{- end }}
""",
    "templates/_configmap.tpl": """{{/* The application's config file and its plain environment. */}}
{{- define "platform-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
data:
  {{ .Values.configFile | default "application.yaml" }}: |
    {{- toYaml .Values.config | nindent 4 }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "platform-lib.fullname" . }}-env
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
data:
  {{- range $k, $v := .Values.configEnv }}
  {{ $k }}: {{ $v | toString | quote }}
  {{- end }}
{{- end }}
""",
    "templates/_extras.tpl": """{{- define "platform-lib.serviceaccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "platform-lib.serviceAccountName" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end }}

{{- define "platform-lib.hpa" -}}
{{- if .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "platform-lib.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPU }}
{{- end }}
{{- end }}

{{- define "platform-lib.pdb" -}}
{{- if .Values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .Values.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "platform-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{- define "platform-lib.ingress" -}}
{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  ingressClassName: {{ .Values.ingress.className }}
  {{- with .Values.ingress.tlsSecretName }}
  tls:
    - secretName: {{ . }}
      hosts:
        {{- toYaml $.Values.ingress.hosts | nindent 8 }}
  {{- end }}
  rules:
    {{- range .Values.ingress.hosts }}
    - host: {{ . | quote }}
      http:
        paths:
          - path: {{ $.Values.ingress.path | default "/" }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "platform-lib.fullname" $ }}
                port:
                  name: http
    {{- end }}
{{- end }}
{{- end }}
""",
}

OBS_LIB = {
    "Chart.yaml": """apiVersion: v2
name: observability-lib
description: Scrape annotations and dashboard ConfigMaps shared by Acme services.
type: library
version: 1.3.0
maintainers:
  - name: sre-team
    email: sre@acme.example
""",
    "values.yaml": "# observability-lib is a library chart; see its templates for the values it reads.\n",
    "templates/_metrics.tpl": """{{/* Prometheus scrape annotations for the pod template. */}}
{{- define "observability-lib.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metricsPort | default 9090 | quote }}
prometheus.io/path: {{ .Values.observability.metricsPath | default "/metrics" | quote }}
{{- end }}

{{/* A Grafana dashboard as a ConfigMap the sidecar picks up. */}}
{{- define "observability-lib.dashboard" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-dashboard
  labels:
    grafana_dashboard: "1"
    app.kubernetes.io/instance: {{ .Release.Name }}
data:
  {{ .Release.Name }}.json: |
    {{- dict "title" (printf "%s (%s)" .Release.Name .Release.Namespace) "refresh" "30s" "tags" (list "acme" .Values.team) "panels" (list (dict "type" "timeseries" "title" "Requests" "targets" (list (dict "expr" (printf "sum(rate(http_requests_total{app=\\"%s\\"}[5m]))" .Release.Name)))) (dict "type" "timeseries" "title" "p99 latency" "targets" (list (dict "expr" (printf "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app=\\"%s\\"}[5m])))" .Release.Name))))) | toPrettyJson | nindent 4 }}
{{- end }}
""",
}

STANDALONE_HELPERS = """{{- define "{n}.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "{n}.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "{n}.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "{n}.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
acme.io/team: {{ .Values.team | quote }}
{{- end }}
"""

STANDALONE_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "{n}.fullname" . }}
  labels:
    {{- include "{n}.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "{n}.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ toJson .Values.config | sha256sum | trunc 16 }}
      labels:
        {{- include "{n}.labels" . | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .Values.containerPort }}
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | toString | quote }}
            {{- end }}
          readinessProbe:
            httpGet:
              path: {{ .Values.probes.readinessPath }}
              port: http
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: config
              mountPath: /etc/{{ .Chart.Name }}
      volumes:
        - name: config
          configMap:
            name: {{ include "{n}.fullname" . }}
"""

STANDALONE_SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{ include "{n}.fullname" . }}
  labels:
    {{- include "{n}.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "{n}.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
"""

STANDALONE_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "{n}.fullname" . }}
  labels:
    {{- include "{n}.labels" . | nindent 4 }}
data:
  application.yaml: |
    {{- toYaml .Values.config | nindent 4 }}
  {{- range $k, $v := .Values.configEnv }}
  {{ $k }}: {{ $v | toString | quote }}
  {{- end }}
"""

CRONJOB = """{{- if .Values.job.enabled }}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "platform-lib.fullname" . }}-job
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: job
spec:
  schedule: {{ .Values.job.schedule | quote }}
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      activeDeadlineSeconds: {{ .Values.job.activeDeadlineSeconds }}
      template:
        metadata:
          labels:
            {{- include "platform-lib.selectorLabels" . | nindent 12 }}
            app.kubernetes.io/component: job
        spec:
          restartPolicy: Never
          automountServiceAccountToken: false
          securityContext:
            {{- include "platform-lib.podSecurityContext" . | nindent 12 }}
          containers:
            - name: job
              image: {{ include "platform-lib.image" . | quote }}
              args:
                {{- toYaml .Values.job.args | nindent 16 }}
              envFrom:
                - configMapRef:
                    name: {{ include "platform-lib.fullname" . }}-env
              resources:
                {{- toYaml .Values.job.resources | nindent 16 }}
              securityContext:
                {{- include "platform-lib.securityContext" . | nindent 16 }}
{{- end }}
"""

SCHEMA = {
    "$schema": "https://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["replicaCount", "image", "containerPort", "resources"],
    "properties": {
        "replicaCount": {"type": "integer", "minimum": 0},
        "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
        "image": {
            "type": "object",
            "required": ["repository", "tag"],
            "properties": {
                "repository": {"type": "string"},
                "tag": {"type": "string", "not": {"const": "latest"}},
                "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
            },
        },
        "resources": {"type": "object"},
        "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    },
}


def plan_charts(n, rng):
    """The charts: name, component, domain, libraries, extras and deps (chart names)."""
    charts = []
    for name, deps in SHARED[: min(len(SHARED), max(1, n // 50))]:
        charts.append({"name": name, "domain": "platform", "component": name.split("-")[-1],
                       "deps": list(deps), "shared": True})
    shared_names = [c["name"] for c in charts]
    for c in charts:
        c["deps"] = [d for d in c["deps"] if d in shared_names]
    combos = [(d, c) for c in COMPONENTS for d in DOMAINS]
    need = n - len(charts)
    if need > len(combos):
        combos += [(f"{d}-v2", c) for c in COMPONENTS for d in DOMAINS]
    # Most domains have an API; the rest is a sample of the other components.
    apis = [x for x in combos if x[1] == "api"]
    others = [x for x in combos if x[1] != "api"]
    rng.shuffle(others)
    chosen = apis[: min(len(apis), need)]
    chosen += others[: need - len(chosen)]
    order = {c: i for i, c in enumerate(COMPONENTS)}
    chosen.sort(key=lambda x: (order[x[1]], x[0]))
    api_of = {}
    for domain, comp in chosen:
        name = f"{domain}-{comp}"
        c = {"name": name, "domain": domain, "component": comp, "deps": [], "shared": False}
        if comp == "api":
            api_of[domain] = name
        else:
            if domain in api_of and rng.random() < 0.30:
                c["deps"].append(api_of[domain])
            if rng.random() < 0.10:
                c["deps"].append(rng.choice(shared_names))
            if rng.random() < 0.06:
                other = rng.choice(sorted(api_of.values()))
                if other not in c["deps"] and other != name:
                    c["deps"].append(other)
        if comp == "api" and rng.random() < 0.12:
            c["deps"].append(rng.choice(shared_names))
        charts.append(c)
    # A few services build on an earlier sibling (a worker on its consumer, ...): chains.
    by_domain = {}
    for c in charts:
        by_domain.setdefault(c["domain"], []).append(c)
    for c in charts:
        siblings = [s for s in by_domain[c["domain"]] if s["deps"] and s["component"] != "api"]
        if not c["shared"] and c["component"] != "api" and siblings and rng.random() < 0.08:
            s = rng.choice(siblings)
            if s is not c and c["name"] not in s["deps"] and not reaches(charts, s["name"], c["name"]):
                c["deps"].append(s["name"])
    for c in charts:
        r = rng.random()
        c["libs"] = [] if r < 0.20 else (["platform-lib", "observability-lib"] if r < 0.32 else ["platform-lib"])
        c["team"] = rng.choice(TEAMS)
        c["port"] = rng.choice([8080, 8080, 8000, 3000, 9000, 50051 if c["component"] == "grpc" else 8080])
        c["replicas"] = rng.choice([2, 2, 3, 3, 4, 6])
        c["serviceaccount"] = rng.random() < 0.5
        c["hpa"] = c["component"] in WEB and rng.random() < 0.6
        c["pdb"] = rng.random() < 0.35
        c["ingress"] = c["component"] in {"api", "frontend", "bff", "gateway", "admin", "webhook"} and rng.random() < 0.7
        c["job"] = c["component"] in JOBS
        c["schema"] = rng.random() < 0.10
        c["version"] = f"{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        c["app_version"] = f"{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
        c["env_count"] = rng.randint(3, 9)
        c["config_keys"] = rng.randint(4, 12)
    return charts


def reaches(charts, src, dst):
    by = {c["name"]: c for c in charts}
    todo, seen = [src], set()
    while todo:
        x = todo.pop()
        if x == dst:
            return True
        if x in seen:
            continue
        seen.add(x)
        todo.extend(by[x]["deps"])
    return False


def chart_yaml(c):
    lines = [
        "apiVersion: v2",
        f"name: {c['name']}",
        f"description: The {c['component']} of {c['domain']} ({c['team']} team).",
        "type: application",
        f"version: {c['version']}",
        f"appVersion: \"{c['app_version']}\"",
        "maintainers:",
        f"  - name: {c['team']}-team",
        f"    email: {c['team']}@acme.example",
    ]
    if c["libs"]:
        lines.append("dependencies:")
        for lib in c["libs"]:
            version = PLATFORM_LIB_VERSION if lib == "platform-lib" else OBS_LIB_VERSION
            lines += [f"  - name: {lib}", f"    version: \"{version}\"",
                      f"    repository: \"file://../{lib}\""]
    return "\n".join(lines) + "\n"


PLATFORM_LIB_VERSION = "0.7.2"
OBS_LIB_VERSION = "1.3.0"

LOG_LEVELS = ["info", "info", "warn"]


def base_values(c, rng):
    env = {}
    keys = ["HTTP_TIMEOUT_MS", "MAX_CONNECTIONS", "CACHE_TTL_SECONDS", "UPSTREAM_RETRIES",
            "WORKER_THREADS", "BATCH_SIZE", "QUEUE_NAME", "REGION", "TRACING_SAMPLE_RATE",
            "FEATURE_SET", "DEFAULT_LOCALE", "METRICS_PREFIX"]
    for k in rng.sample(keys, c["env_count"]):
        env[k] = {
            "HTTP_TIMEOUT_MS": str(rng.choice([2000, 5000, 10000])),
            "MAX_CONNECTIONS": str(rng.choice([50, 100, 200])),
            "CACHE_TTL_SECONDS": str(rng.choice([30, 60, 300])),
            "UPSTREAM_RETRIES": str(rng.choice([2, 3, 5])),
            "WORKER_THREADS": str(rng.choice([4, 8, 16])),
            "BATCH_SIZE": str(rng.choice([100, 500, 1000])),
            "QUEUE_NAME": f"{c['domain']}-{c['component']}",
            "REGION": "eu-west-1",
            "TRACING_SAMPLE_RATE": rng.choice(["0.01", "0.05", "0.1"]),
            "FEATURE_SET": "stable",
            "DEFAULT_LOCALE": "en-GB",
            "METRICS_PREFIX": c["name"].replace("-", "_"),
        }[k]
    config = {
        "server": {"port": c["port"], "shutdownGraceSeconds": rng.choice([10, 20, 30])},
        "logging": {"level": rng.choice(LOG_LEVELS), "format": "json"},
    }
    extra = {
        "database": {"poolSize": rng.choice([10, 20, 40]), "statementTimeoutMs": 5000},
        "cache": {"host": f"redis-{c['domain']}.svc", "ttlSeconds": rng.choice([60, 300])},
        "upstreams": {d: f"http://{d}.svc.cluster.local" for d in c["deps"]} or {"default": "http://gateway.svc"},
        "features": {f"flag{i}": rng.random() < 0.5 for i in range(rng.randint(2, 6))},
        "rateLimit": {"requestsPerSecond": rng.choice([50, 100, 500]), "burst": 200},
        "retries": {"max": 3, "backoffMs": [100, 400, 1600]},
        "tracing": {"enabled": True, "sampleRate": 0.05},
        "auth": {"issuer": "https://auth.acme.example", "audience": c["name"]},
    }
    for k in list(extra)[: max(0, c["config_keys"] - 2)]:
        config[k] = extra[k]
    v = {
        "replicaCount": c["replicas"],
        "image": {"repository": f"registry.acme.example/{c['domain']}/{c['component']}",
                  "tag": c["app_version"], "pullPolicy": "IfNotPresent"},
        "imagePullSecrets": [{"name": "acme-registry"}],
        "nameOverride": "",
        "fullnameOverride": "",
        "team": c["team"],
        "global": {"environment": "dev"},
        "containerPort": c["port"],
        "env": env,
        "configEnv": {"APP_NAME": c["name"], "LOG_FORMAT": "json"},
        "config": config,
        "probes": {"enabled": True, "readinessPath": "/readyz", "livenessPath": "/healthz",
                   "initialDelaySeconds": rng.choice([5, 10, 20])},
        "service": {"type": "ClusterIP", "port": 80},
        "resources": {"requests": {"cpu": rng.choice(["100m", "200m", "250m", "500m"]),
                                   "memory": rng.choice(["128Mi", "256Mi", "512Mi"])},
                      "limits": {"memory": rng.choice(["256Mi", "512Mi", "1Gi"])}},
        "podSecurityContext": {"fsGroup": 10001},
        "securityContext": {"readOnlyRootFilesystem": True},
        "serviceAccount": {"create": c["serviceaccount"], "name": "",
                           "annotations": {"eks.amazonaws.com/role-arn":
                                           f"arn:aws:iam::123456789012:role/{c['name']}"} if c["serviceaccount"] else {}},
        "autoscaling": {"enabled": c["hpa"], "minReplicas": 2, "maxReplicas": rng.choice([6, 10, 20]),
                        "targetCPU": rng.choice([60, 70, 80])},
        "pdb": {"enabled": c["pdb"], "minAvailable": 1},
        "ingress": {"enabled": c["ingress"], "className": "nginx", "path": "/",
                    "hosts": [f"{c['name']}.acme.example"], "tlsSecretName": f"{c['name']}-tls",
                    "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "4m"}},
        "topologySpread": True,
        "terminationGracePeriodSeconds": 30,
        "nodeSelector": {},
        "tolerations": [],
    }
    if "observability-lib" in c["libs"]:
        v["metricsPort"] = 9090
        v["observability"] = {"metricsPath": "/metrics", "dashboard": True}
    if c["job"]:
        v["job"] = {"enabled": True, "schedule": f"{rng.randint(0, 59)} {rng.randint(0, 23)} * * *",
                    "activeDeadlineSeconds": 3600, "args": ["run", "--once"],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"memory": "256Mi"}}}
    return v


def dev_values(c, rng):
    v = {
        "replicaCount": 1,
        "image": {"tag": f"{c['app_version']}-dev.{rng.randint(100, 999)}"},
        "global": {"environment": "dev"},
        "env": {"LOG_LEVEL": "debug", "REGION": "eu-west-1"},
        "config": {"logging": {"level": "debug"},
                   "features": {"experimental": True, f"dev-only-{rng.randint(1, 9)}": True}},
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "192Mi"}},
        "topologySpread": False,
    }
    if c["hpa"]:
        v["autoscaling"] = {"enabled": False}
    if c["ingress"]:
        v["ingress"] = {"hosts": [f"{c['name']}.dev.acme.example"], "tlsSecretName": "dev-wildcard-tls"}
    if c["pdb"] and rng.random() < 0.5:
        v["pdb"] = {"enabled": False}
    if rng.random() < 0.3:
        v["configEnv"] = {"SANDBOX_MODE": "true"}
    return v


def chart_templates(c):
    n = c["name"]
    if not c["libs"]:
        return {
            "templates/_helpers.tpl": STANDALONE_HELPERS.replace("{n}", n),
            "templates/deployment.yaml": STANDALONE_DEPLOYMENT.replace("{n}", n),
            "templates/service.yaml": STANDALONE_SERVICE.replace("{n}", n),
            "templates/configmap.yaml": STANDALONE_CONFIGMAP.replace("{n}", n),
        }
    obs = "observability-lib" in c["libs"]
    annotations = '(include "observability-lib.scrapeAnnotations" . | fromYaml)' if obs else "(dict)"
    t = {
        "templates/deployment.yaml":
            f'{{{{- include "platform-lib.deployment" (dict "context" . "component" "{c["component"]}" '
            f'"annotations" {annotations}) }}}}\n',
        "templates/service.yaml": '{{- include "platform-lib.service" . }}\n',
        "templates/configmap.yaml": '{{- include "platform-lib.configmap" . }}\n',
    }
    if c["serviceaccount"]:
        t["templates/serviceaccount.yaml"] = '{{- include "platform-lib.serviceaccount" . }}\n'
    if c["hpa"]:
        t["templates/hpa.yaml"] = '{{- include "platform-lib.hpa" . }}\n'
    if c["pdb"]:
        t["templates/pdb.yaml"] = '{{- include "platform-lib.pdb" . }}\n'
    if c["ingress"]:
        t["templates/ingress.yaml"] = '{{- include "platform-lib.ingress" . }}\n'
    if c["job"]:
        t["templates/cronjob.yaml"] = CRONJOB
    if obs:
        t["templates/dashboard.yaml"] = (
            '{{- if .Values.observability.dashboard }}\n'
            '{{- include "observability-lib.dashboard" . }}\n{{- end }}\n')
    t["templates/NOTES.txt"] = f"{n} is deployed in {{{{ .Release.Namespace }}}}.\n"
    return t


def gen_charts(args):
    rng = random.Random(args.seed)
    charts = plan_charts(args.charts, rng)
    out, files = args.out, []
    write(out, "WORKSPACE.toml", f"""# Acme Kubernetes services: {len(charts)} application charts.

[workspace]
name = "acme-apps"
default_branch = "main"
global_inputs = ["WORKSPACE.toml"]
ignore = ["**/*.md", "**/.helmignore", "**/README*"]

{TOOLCHAIN}
[gitops]
repo_url = "https://git.example.com/acme/infra.git"

[cache]
dir = ".strata/cache"
""", files)
    write(out, ".gitignore", "/.tools\n.strata/\ncharts/*/charts/\ncharts/*/Chart.lock\n/deploy/\n", files)
    write(out, "environments/dev/env.toml", DEV_ENV, files)
    for lib, content in (("platform-lib", PLATFORM_LIB), ("observability-lib", OBS_LIB)):
        for rel, text in content.items():
            write(out, f"charts/{lib}/{rel}", text, files)
    helmignore = ".git/\n*.swp\n*.bak\n*.tmp\n.DS_Store\ntests/\n"
    for c in charts:
        d = f"charts/{c['name']}"
        write(out, f"{d}/Chart.yaml", chart_yaml(c), files)
        write(out, f"{d}/.helmignore", helmignore, files)
        write(out, f"{d}/values.yaml",
              f"# Defaults for {c['name']}; per-environment overrides live in\n"
              f"# environments/<env>/charts/{c['name']}/values.yaml.\n\n"
              + to_yaml(base_values(c, rng)), files)
        for rel, text in chart_templates(c).items():
            write(out, f"{d}/{rel}", text, files)
        if c["schema"]:
            write(out, f"{d}/values.schema.json", json.dumps(SCHEMA, indent=2) + "\n", files)
        if c["deps"]:
            deps = ", ".join(f'"charts/{x}"' for x in sorted(c["deps"]))
            write(out, f"{d}/chart.toml",
                  f"# {c['name']} calls these services: it deploys after them.\ndeps = [{deps}]\n", files)
        write(out, f"environments/dev/{d}/values.yaml",
              f"# {c['name']} in dev.\n" + to_yaml(dev_values(c, rng)), files)
    git_commit(out, "gitops benchmark workspace")
    edges = {f"charts/{c['name']}": [f"charts/{x}" for x in c["deps"]] for c in charts}
    depth = depth_of(edges)
    hist = {}
    for c in charts:
        hist[len(c["deps"])] = hist.get(len(c["deps"]), 0) + 1
    extras = {k: sum(1 for c in charts if c[k]) for k in ("serviceaccount", "hpa", "pdb", "ingress", "job", "schema")}
    return {
        "charts": len(charts),
        "library_charts": 2,
        "shared_charts": sum(1 for c in charts if c["shared"]),
        "with_platform_lib": sum(1 for c in charts if "platform-lib" in c["libs"]),
        "with_observability_lib": sum(1 for c in charts if "observability-lib" in c["libs"]),
        "standalone": sum(1 for c in charts if not c["libs"]),
        "with_chart_toml": sum(1 for c in charts if c["deps"]),
        "chart_edges": sum(len(c["deps"]) for c in charts),
        "deps_per_chart": {str(k): v for k, v in sorted(hist.items())},
        "graph_depth": 1 + max(depth.values()),
        "extras": extras,
        "files": len(files),
    }


# --- stacks ---------------------------------------------------------------------------------

REGIONS = ["eu-west-1", "us-east-1", "eu-central-1", "us-west-2"]
PLATFORM = ["eks", "postgres", "redis", "kafka", "dns-zone", "vault", "observability", "ingress"]

MODULES = {
    "tagged-resource": ("Creates a tagged placeholder resource and its audit record.", 2),
    "service-account": ("A workload identity with a policy document and a rotation record.", 3),
    "queue": ("A queue, its dead-letter queue and the redrive policy between them.", 3),
    "bucket": ("A bucket with lifecycle rules.", 2),
    "dns-record": ("A DNS record pointing at an endpoint.", 1),
}


def module_files(name, desc, nres):
    res = []
    for i in range(nres):
        res.append(f"""resource "null_resource" "r{i}" {{
  triggers = {{
    name        = var.name
    environment = var.environment
    part        = "{name}-{i}"
    settings    = jsonencode(var.settings)
  }}
}}
""")
    return {
        "main.tf": f"# {desc}\n\n" + "\n".join(res),
        "variables.tf": """variable "name" {
  description = "Name of the thing this module makes."
  type        = string
}

variable "environment" {
  description = "Deployment environment."
  type        = string
}

variable "settings" {
  description = "Free-form settings recorded with the resource."
  type        = map(string)
  default     = {}
}
""",
        "outputs.tf": """output "id" {
  description = "Identifier of the first resource."
  value       = null_resource.r0.id
}
""",
        "versions.tf": """terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}
""",
    }


def plan_stacks(n, rng):
    stacks = []
    foundation = [f"network-{r}" for r in REGIONS] + ["iam-baseline", "kms-keys", "dns-root"]
    n_found = max(2, min(len(foundation), round(n * 0.07)))
    for name in foundation[:n_found]:
        deps = []
        if name.startswith("network-") and "iam-baseline" in foundation[:n_found]:
            deps = ["iam-baseline"]
        stacks.append({"name": name, "layer": 0, "deps": deps,
                       "region": name[8:] if name.startswith("network-") else "eu-west-1"})
    networks = [s["name"] for s in stacks if s["name"].startswith("network-")] or [stacks[0]["name"]]
    n_plat = max(1, round(n * 0.15))
    for i in range(n_plat):
        kind = PLATFORM[i % len(PLATFORM)]
        net = networks[i % len(networks)]
        region = net[8:] if net.startswith("network-") else "eu-west-1"
        deps = [net]
        if rng.random() < 0.4:
            deps.append(rng.choice([s["name"] for s in stacks if s["layer"] == 0]))
        stacks.append({"name": f"{kind}-{region}-{i // len(PLATFORM)}", "layer": 1,
                       "deps": sorted(set(deps)), "region": region})
    lower = [s["name"] for s in stacks]
    platform = [s["name"] for s in stacks if s["layer"] == 1]
    used = set()
    while len(stacks) < n:
        d, comp = rng.choice(DOMAINS), rng.choice(COMPONENTS)
        name = f"{d}-{comp}"
        if name in used:
            name = f"{name}-{rng.randint(2, 9)}"
            if name in used:
                continue
        used.add(name)
        k = rng.choice([1, 1, 2, 2, 2, 3])
        deps = rng.sample(platform, min(k, len(platform))) if platform else rng.sample(lower, 1)
        if rng.random() < 0.2:
            deps.append(rng.choice(lower[:n_found]))
        stacks.append({"name": name, "layer": 2, "deps": sorted(set(deps)), "region": "eu-west-1"})
    for s in stacks:
        s["modules"] = rng.sample(sorted(MODULES), rng.choice([1, 1, 2]))
        s["own"] = rng.randint(1, 4)
    return stacks[:n]


def stack_files(s):
    var_for = {d: d.replace("-", "_") + "_id" for d in s["deps"]}
    mods = []
    for m in s["modules"]:
        mods.append(f"""module "{m.replace('-', '_')}" {{
  source = "../../modules/{m}"

  name        = "${{var.name}}-{m}"
  environment = var.environment
  settings = {{
    region = var.region
    tier   = var.tier
  }}
}}
""")
    own = []
    keys = ["name", "region", "replicas"] + list(var_for.values())
    width = max(len(k) for k in keys)
    # Aligned as `terraform fmt` writes it.
    triggers = "\n".join(f"    {k.ljust(width)} = var.{k}" for k in keys)
    for i in range(s["own"]):
        own.append(f"""resource "null_resource" "{s['name'].replace('-', '_')}_{i}" {{
  triggers = {{
{triggers}
  }}
}}
""")
    first = f"null_resource.{s['name'].replace('-', '_')}_0.id"
    variables = """variable "name" {
  description = "Name of the stack's resources."
  type        = string
}

variable "environment" {
  description = "Deployment environment."
  type        = string
}

variable "region" {
  description = "Region."
  type        = string
  default     = "eu-west-1"
}

variable "tier" {
  description = "Service tier."
  type        = string
  default     = "standard"
}

variable "replicas" {
  description = "How many of each."
  type        = number
  default     = 1
}
"""
    for d, v in var_for.items():
        variables += f"""
variable "{v}" {{
  description = "Identifier from stacks/{d}."
  type        = string
}}
"""
    toml = ""
    if s["deps"]:
        toml = "deps = [" + ", ".join(f'"stacks/{d}"' for d in s["deps"]) + "]\n\n[inputs]\n"
        toml += "".join(f'{v} = "stacks/{d}:id"\n' for d, v in var_for.items())
    return {
        "main.tf": f"locals {{\n  owner = \"{s['name']}\"\n}}\n\n" + "\n".join(mods) + "\n" + "\n".join(own),
        "variables.tf": variables,
        "outputs.tf": f"""output "id" {{
  description = "Identifier other stacks read."
  value       = {first}
}}

output "endpoint" {{
  description = "Where it is reached."
  value       = "${{var.name}}.${{var.region}}.internal.acme.example"
}}
""",
        "versions.tf": """terraform {
  required_version = ">= 1.0.0"
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}
""",
        "stack.toml": toml or "# No upstream stacks.\n",
    }


def gen_stacks(args):
    rng = random.Random(args.seed)
    stacks = plan_stacks(args.stacks, rng)
    out, files = args.out, []
    write(out, "WORKSPACE.toml", f"""# Acme infrastructure: {len(stacks)} stacks.

[workspace]
name = "acme-infra"
default_branch = "main"
global_inputs = ["WORKSPACE.toml"]
ignore = ["**/*.md", "**/README*"]

{TOOLCHAIN}
[cache]
dir = ".strata/cache"
""", files)
    write(out, ".gitignore", "/.tools\n.strata/\n.terraform/\n.terraform.lock.hcl\n", files)
    write(out, "environments/dev/env.toml", DEV_ENV, files)
    for m, (desc, nres) in MODULES.items():
        for rel, text in module_files(m, desc, nres).items():
            write(out, f"modules/{m}/{rel}", text, files)
    for s in stacks:
        for rel, text in stack_files(s).items():
            write(out, f"stacks/{s['name']}/{rel}", text, files)
        write(out, f"environments/dev/stacks/{s['name']}/terraform.tfvars",
              f'name        = "{s["name"]}-dev"\nenvironment = "dev"\nregion      = "{s["region"]}"\n'
              f'tier        = "{rng.choice(["standard", "critical", "batch"])}"\nreplicas    = {rng.choice([1, 2, 3])}\n',
              files)
    git_commit(out, "drift benchmark workspace")
    edges = {f"stacks/{s['name']}": [f"stacks/{d}" for d in s["deps"]] for s in stacks}
    depth = depth_of(edges)
    resources = sum(s["own"] + sum(MODULES[m][1] for m in s["modules"]) for s in stacks)
    return {
        "stacks": len(stacks),
        "layers": {str(k): sum(1 for s in stacks if s["layer"] == k) for k in range(3)},
        "modules": len(MODULES),
        "edges": sum(len(s["deps"]) for s in stacks),
        "graph_depth": 1 + max(depth.values()),
        "resources": resources,
        "files": len(files),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    for what, count, default in (("charts", "--charts", 1000), ("stacks", "--stacks", 100)):
        s = sub.add_parser(what)
        s.add_argument("--out", required=True)
        s.add_argument(count, type=int, default=default)
        s.add_argument("--seed", type=int, default=42)
        s.add_argument("--meta")
        s.add_argument("--force", action="store_true")
    args = p.parse_args()
    prepare(args.out, args.force)
    meta = gen_charts(args) if args.what == "charts" else gen_stacks(args)
    if args.meta:
        with open(args.meta, "w") as f:
            json.dump(meta, f, indent=2)
    print(json.dumps(meta), file=sys.stderr)


if __name__ == "__main__":
    main()
