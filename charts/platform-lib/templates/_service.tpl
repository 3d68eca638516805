{{/*
ClusterIP Service in front of the "http" container port.

Usage:
  {{ include "platform-lib.service" . }}

Values read: service.type, service.port, service.annotations, containerPort.
*/}}
{{- define "platform-lib.service" -}}
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
{{- end }}
