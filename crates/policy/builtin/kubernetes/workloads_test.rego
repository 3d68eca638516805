package builtin.kubernetes

import rego.v1

checkovs(fs) := {f.checkov | some f in fs}

probed := object.union(hardened, {
	"image": "registry.acme.example/app:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
	"readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
})

locked_pod := {
	"automountServiceAccountToken": false,
	"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [probed],
}

test_locked_pod_passes_the_workload_rules if {
	inp := deployment(locked_pod)
	count(deny_liveness_probe) == 0 with input as inp
	count(deny_readiness_probe) == 0 with input as inp
	count(deny_service_account_token) == 0 with input as inp
	count(deny_seccomp_profile) == 0 with input as inp
	count(deny_high_uid) == 0 with input as inp
	count(deny_net_raw) == 0 with input as inp
	count(deny_container_security_context) == 0 with input as inp
	count(deny_secrets_in_env) == 0 with input as inp
	count(deny_image_digest) == 0 with input as inp
	count(deny_image_pull_policy) == 0 with input as inp
}

# STRATA-K8S-018, 019

test_image_without_digest_or_pull_always_denied if {
	inp := deployment({"containers": [hardened]})
	checkovs(deny_image_digest) == {"CKV_K8S_43"} with input as inp
	checkovs(deny_image_pull_policy) == {"CKV_K8S_15"} with input as inp
	count(deny_image_pull_policy) == 0 with input as deployment({"containers": [object.union(hardened, {"imagePullPolicy": "Always"})]})
}

# STRATA-K8S-020, 021

test_missing_probes_denied_but_not_for_jobs if {
	inp := deployment({"containers": [hardened]})
	checkovs(deny_liveness_probe) == {"CKV_K8S_8"} with input as inp
	checkovs(deny_readiness_probe) == {"CKV_K8S_9"} with input as inp
	job := {"kind": "Job", "metadata": {"name": "migrate"}, "spec": {"template": {"spec": {"containers": [hardened]}}}}
	count(deny_liveness_probe) == 0 with input as job
}

# STRATA-K8S-022, 023

test_token_and_seccomp_denied if {
	inp := deployment({"containers": [probed]})
	checkovs(deny_service_account_token) == {"CKV_K8S_38"} with input as inp
	checkovs(deny_seccomp_profile) == {"CKV_K8S_31"} with input as inp
}

test_seccomp_per_container_or_annotation_passes if {
	per_container := object.union(probed, {"securityContext": object.union(probed.securityContext, {"seccompProfile": {"type": "RuntimeDefault"}})})
	count(deny_seccomp_profile) == 0 with input as deployment({"containers": [per_container]})
	annotated := {"kind": "Pod", "metadata": {"name": "p", "annotations": {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}}, "spec": {"containers": [probed]}}
	count(deny_seccomp_profile) == 0 with input as annotated
}

# STRATA-K8S-024, 025, 026

test_low_uid_net_raw_and_missing_security_context_denied if {
	low := object.union(hardened, {"securityContext": object.union(hardened.securityContext, {"runAsUser": 1000, "capabilities": {"drop": ["SYS_ADMIN"]}})})
	inp := deployment({"containers": [low, {"name": "sidecar", "image": "envoy:1.30"}]})
	checkovs(deny_high_uid) == {"CKV_K8S_40"} with input as inp
	count(deny_net_raw) == 2 with input as inp
	checkovs(deny_net_raw) == {"CKV_K8S_28"} with input as inp
	fs := deny_container_security_context with input as inp
	checkovs(fs) == {"CKV_K8S_30"}
	count(fs) == 1
}

# STRATA-K8S-027

test_secret_env_vars_denied if {
	c := object.union(hardened, {
		"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
		"envFrom": [{"secretRef": {"name": "api-keys"}}, {"configMapRef": {"name": "settings"}}],
	})
	fs := deny_secrets_in_env with input as deployment({"containers": [c]})
	count(fs) == 2
	checkovs(fs) == {"CKV_K8S_35"}
}
