{{/*
Deployment for a stateless service.

Usage:
  {{ include "platform-lib.deployment" (dict "context" $ "component" "api" "env" (dict "KEY" "value")) }}

Arguments:
  context    the chart's root context (required)
  component  value of the app.kubernetes.io/component label (default: chart name)
  env        extra environment variables merged over .Values.env (optional)

Values read: replicaCount, image, imagePullSecrets, podAnnotations,
podSecurityContext, securityContext, resources, containerPort, probes, env,
envFromSecret, nodeSelector, tolerations, affinity, topologySpread,
terminationGracePeriodSeconds.
*/}}
{{- define "platform-lib.deployment" -}}
{{- $ctx := required "platform-lib.deployment needs a \"context\" argument" .context }}
{{- $values := $ctx.Values }}
{{- $component := .component | default $ctx.Chart.Name }}
{{- $env := merge (deepCopy (.env | default dict)) ($values.env | default dict) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "platform-lib.fullname" $ctx }}
  labels:
    {{- include "platform-lib.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ $component }}
spec:
  replicas: {{ $values.replicaCount | default 1 }}
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
        checksum/env: {{ toJson $env | sha256sum | trunc 16 }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "platform-lib.labels" $ctx | nindent 8 }}
        app.kubernetes.io/component: {{ $component }}
    spec:
      {{- with $values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      automountServiceAccountToken: false
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
          {{- if $values.containerPort }}
          ports:
            - name: http
              containerPort: {{ $values.containerPort }}
              protocol: TCP
          {{- end }}
          {{- if $env }}
          env:
            {{- range $name, $value := $env }}
            - name: {{ $name }}
              value: {{ $value | toString | quote }}
            {{- end }}
          {{- end }}
          {{- with $values.envFromSecret }}
          envFrom:
            - secretRef:
                name: {{ . }}
          {{- end }}
          {{- with $values.probes }}
          {{- if and .enabled $values.containerPort }}
          readinessProbe:
            httpGet:
              path: {{ .readinessPath | default "/readyz" }}
              port: http
            periodSeconds: 10
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: {{ .livenessPath | default "/healthz" }}
              port: http
            initialDelaySeconds: {{ .initialDelaySeconds | default 10 }}
            periodSeconds: 20
            failureThreshold: 3
          {{- end }}
          {{- end }}
          resources:
            {{- include "platform-lib.resources" $ctx | nindent 12 }}
          securityContext:
            {{- include "platform-lib.securityContext" $ctx | nindent 12 }}
          volumeMounts:
            # Writable scratch space; the root filesystem is read-only.
            - name: tmp
              mountPath: /tmp
      volumes:
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
      {{- with $values.affinity }}
      affinity:
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
