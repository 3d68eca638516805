# Pod and container settings beyond privileges: probes, the service account token,
# seccomp, user ids, NET_RAW, security contexts and secrets in environment variables.
package builtin.kubernetes

import rego.v1

# Objects whose pods run until they are stopped (Jobs and CronJobs run to completion and
# take no probes).
long_running if input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod"}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-020, 021: liveness and readiness probes.

liveness_probe := {
	"id": "STRATA-K8S-020",
	"severity": "low",
	"title": "Container without a liveness probe",
	"remediation": "Add a livenessProbe, so a container that hangs is restarted.",
	"checkov": "CKV_K8S_8",
}

deny_liveness_probe contains f if {
	long_running
	some c in pod_spec.containers
	not c.livenessProbe
	f := finding(liveness_probe, sprintf("container %q has no livenessProbe", [object.get(c, "name", "")]))
}

readiness_probe := {
	"id": "STRATA-K8S-021",
	"severity": "low",
	"title": "Container without a readiness probe",
	"remediation": "Add a readinessProbe, so traffic reaches a container only when it can serve it.",
	"checkov": "CKV_K8S_9",
}

deny_readiness_probe contains f if {
	long_running
	some c in pod_spec.containers
	not c.readinessProbe
	f := finding(readiness_probe, sprintf("container %q has no readinessProbe", [object.get(c, "name", "")]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-022: the service account token mounted into every pod.

service_account_token := {
	"id": "STRATA-K8S-022",
	"severity": "medium",
	"title": "Pod mounts a service account token it may not need",
	"remediation": "Set automountServiceAccountToken: false in the pod spec, and mount a projected token only in pods that call the Kubernetes API.",
	"checkov": "CKV_K8S_38",
}

deny_service_account_token contains f if {
	pod_spec
	object.get(pod_spec, "automountServiceAccountToken", true) != false
	f := finding(service_account_token, "does not set automountServiceAccountToken: false")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-023: no seccomp profile.

seccomp_profile := {
	"id": "STRATA-K8S-023",
	"severity": "medium",
	"title": "Pod without a seccomp profile",
	"remediation": "Set securityContext.seccompProfile.type: RuntimeDefault in the pod spec (or Localhost with a profile of your own).",
	"checkov": "CKV_K8S_31",
}

confining(profile) if object.get(profile, "type", "") in {"RuntimeDefault", "Localhost"}

pod_metadata := input.spec.template.metadata if input.kind in template_kinds

pod_metadata := input.spec.jobTemplate.spec.template.metadata if input.kind == "CronJob"

pod_metadata := input.metadata if input.kind == "Pod"

pod_metadata := input.template.metadata if input.kind == "PodTemplate"

annotation_seccomp if {
	some meta in [object.get(input, "metadata", {}), pod_metadata]
	annotations := object.get(meta, "annotations", {})
	annotations["seccomp.security.alpha.kubernetes.io/pod"] in {"runtime/default", "docker/default"}
}

seccomp_confined if confining(pod_spec.securityContext.seccompProfile)

seccomp_confined if {
	count(containers) > 0
	every c in containers {
		confining(c.spec.securityContext.seccompProfile)
	}
}

seccomp_confined if annotation_seccomp

deny_seccomp_profile contains f if {
	pod_spec
	not seccomp_confined
	f := finding(seccomp_profile, "sets no seccomp profile (securityContext.seccompProfile.type: RuntimeDefault)")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-024: a low user id, shared with users of the node.

high_uid := {
	"id": "STRATA-K8S-024",
	"severity": "low",
	"title": "Container runs with a low user id",
	"remediation": "Run as a UID of 10000 or more, so a container escape does not land on a user of the node.",
	"checkov": "CKV_K8S_40",
}

deny_high_uid contains f if {
	some c in containers
	uid := security(c.spec, "runAsUser")
	is_number(uid)
	uid > 0
	uid < 10000
	f := finding(high_uid, sprintf("%s runs as UID %d", [c.label, uid]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-025: NET_RAW kept.

net_raw := {
	"id": "STRATA-K8S-025",
	"severity": "medium",
	"title": "Container keeps the NET_RAW capability",
	"remediation": "Drop NET_RAW (or ALL) in securityContext.capabilities.drop; raw sockets allow spoofing on the pod network.",
	"checkov": "CKV_K8S_28",
}

drops_net_raw(c) if {
	some capability in c.securityContext.capabilities.drop
	upper(sprintf("%v", [capability])) in {"ALL", "NET_RAW", "CAP_NET_RAW"}
}

deny_net_raw contains f if {
	some c in containers
	not drops_net_raw(c.spec)
	f := finding(net_raw, sprintf("%s does not drop NET_RAW", [c.label]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-026: a container with no security context at all.

container_security_context := {
	"id": "STRATA-K8S-026",
	"severity": "low",
	"title": "Container without a security context",
	"remediation": "Give every container a securityContext (allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities.drop: [ALL]).",
	"checkov": "CKV_K8S_30",
}

deny_container_security_context contains f if {
	some c in containers
	not c.spec.securityContext
	f := finding(container_security_context, sprintf("%s has no securityContext", [c.label]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-027: secrets handed over as environment variables.

secrets_in_env := {
	"id": "STRATA-K8S-027",
	"severity": "low",
	"title": "Secret passed in environment variables",
	"remediation": "Mount the Secret as a volume: environment variables end up in crash dumps, logs and child processes.",
	"checkov": "CKV_K8S_35",
}

deny_secrets_in_env contains f if {
	some c in containers
	some e in object.get(c.spec, "env", [])
	e.valueFrom.secretKeyRef
	f := finding(secrets_in_env, sprintf("%s reads the secret %s into the variable %s", [c.label, e.valueFrom.secretKeyRef.name, e.name]))
}

deny_secrets_in_env contains f if {
	some c in containers
	some source in object.get(c.spec, "envFrom", [])
	source.secretRef
	f := finding(secrets_in_env, sprintf("%s loads the secret %s into its environment", [c.label, source.secretRef.name]))
}
