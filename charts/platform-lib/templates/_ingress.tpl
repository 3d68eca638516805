{{/*
Ingress routing a list of hostnames to the chart's Service.

Usage:
  {{ include "platform-lib.ingress" . }}

Renders nothing unless ingress.enabled is true. Values read:
ingress.className, ingress.hosts, ingress.path, ingress.tlsSecretName,
ingress.annotations, service.port.
*/}}
{{- define "platform-lib.ingress" -}}
{{- $ingress := .Values.ingress | default dict }}
{{- if $ingress.enabled }}
{{- $fullname := include "platform-lib.fullname" . }}
{{- $port := (.Values.service | default dict).port | default 80 }}
{{- $hosts := required "ingress.hosts must list at least one hostname" $ingress.hosts }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
  {{- with $ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  ingressClassName: {{ $ingress.className | default "nginx" }}
  {{- with $ingress.tlsSecretName }}
  tls:
    - secretName: {{ . }}
      hosts:
        {{- toYaml $hosts | nindent 8 }}
  {{- end }}
  rules:
    {{- range $hosts }}
    - host: {{ . | quote }}
      http:
        paths:
          - path: {{ $ingress.path | default "/" }}
            pathType: Prefix
            backend:
              service:
                name: {{ $fullname }}
                port:
                  number: {{ $port }}
    {{- end }}
{{- end }}
{{- end }}
