{{/*
Chart name, truncated to the 63 characters Kubernetes allows in names.
*/}}
{{- define "platform-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. If the release name already contains the chart
name it is not repeated (release "api" + chart "api" -> "api").
*/}}
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

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "platform-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels used to select the pods of a release. Never change these on a live
release: Deployment selectors are immutable.
*/}}
{{- define "platform-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Standard labels for every object.
*/}}
{{- define "platform-lib.labels" -}}
helm.sh/chart: {{ include "platform-lib.chart" . }}
{{ include "platform-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: acme
{{- with .Values.global }}
{{- with .environment }}
acme.io/environment: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .Values.team }}
acme.io/team: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Container image reference. The tag must be pinned; "latest" is rejected.
*/}}
{{- define "platform-lib.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if or (eq $tag "") (eq $tag "latest") }}
{{- fail "image.tag must be pinned to a release version (\"latest\" is not allowed)" }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/*
Pod-level security context. Chart values are merged over safe defaults.
*/}}
{{- define "platform-lib.podSecurityContext" -}}
{{- $defaults := dict "runAsNonRoot" true "runAsUser" 10001 "runAsGroup" 10001 "fsGroup" 10001 "seccompProfile" (dict "type" "RuntimeDefault") }}
{{- toYaml (merge (deepCopy (.Values.podSecurityContext | default dict)) $defaults) }}
{{- end }}

{{/*
Container-level security context. Chart values are merged over safe
defaults, so a chart can add settings but has to opt out explicitly.
*/}}
{{- define "platform-lib.securityContext" -}}
{{- $defaults := dict "runAsNonRoot" true "readOnlyRootFilesystem" true "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) }}
{{- toYaml (merge (deepCopy (.Values.securityContext | default dict)) $defaults) }}
{{- end }}

{{/*
Container resources. Requests and limits are both required so the
scheduler and the baseline policy see them.
*/}}
{{- define "platform-lib.resources" -}}
{{- $resources := required "resources must be set" .Values.resources }}
{{- $_ := required "resources.requests must be set" $resources.requests }}
{{- $_ := required "resources.limits must be set" $resources.limits }}
{{- toYaml $resources }}
{{- end }}
