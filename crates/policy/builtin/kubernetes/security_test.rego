package builtin.kubernetes

import rego.v1

# Every unknown_ rule of this package.
unknowns := unknown_image_tag

having(findings, id) := {f | some f in findings; f.id == id}

# A container that passes every rule of this directory.
hardened := {
	"name": "app",
	"image": "registry.acme.example/app:1.4.2",
	"securityContext": {
		"allowPrivilegeEscalation": false,
		"readOnlyRootFilesystem": true,
		"runAsNonRoot": true,
		"runAsUser": 10001,
		"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
	},
	"resources": {
		"requests": {"cpu": "100m", "memory": "128Mi"},
		"limits": {"cpu": "500m", "memory": "256Mi"},
	},
}

deployment(pod) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": pod}},
}

# The hardened container with some securityContext fields changed.
with_security(changes) := object.union(hardened, {"securityContext": changes})

# The hardened container with some securityContext fields removed.
without_security(fields) := object.union(
	object.remove(hardened, ["securityContext"]),
	{"securityContext": object.remove(hardened.securityContext, fields)},
)

all_denies := [
	deny_privileged, deny_privilege_escalation, deny_run_as_root, deny_read_only_root_filesystem,
	deny_drop_all_capabilities, deny_added_capabilities, deny_cpu_requests, deny_cpu_limits,
	deny_memory_requests, deny_memory_limits, deny_image_tag, deny_host_path, deny_host_network,
	deny_host_pid, deny_host_ipc, deny_host_port,
]

hardened_pod := {"containers": [hardened], "initContainers": [object.union(hardened, {"name": "migrate"})]}

# A pod spec in every kind of object that carries one.
workloads(pod) := [
	deployment(pod),
	{"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"template": {"spec": pod}}},
	{"kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"template": {"spec": pod}}},
	{"kind": "Job", "metadata": {"name": "once"}, "spec": {"template": {"spec": pod}}},
	{"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}},
	{"kind": "Pod", "metadata": {"name": "p"}, "spec": pod},
]

hardened_workloads := workloads(hardened_pod)

test_hardened_workloads_have_no_findings if {
	every inp in hardened_workloads {
		denies := all_denies with input as inp
		every d in denies {
			count(d) == 0
		}
		count(unknowns) == 0 with input as inp
	}
}

test_every_workload_kind_is_checked if {
	privileged_pod := {"containers": [with_security({"privileged": true})]}
	every inp in workloads(privileged_pod) {
		count(deny_privileged) == 1 with input as inp
	}
}

test_objects_without_pods_are_skipped if {
	denies := all_denies with input as {"kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
	every d in denies {
		count(d) == 0
	}
}

# STRATA-K8S-001

test_privileged_denied if {
	fs := deny_privileged with input as deployment({"containers": [with_security({"privileged": true})]})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-K8S-001"
	f.severity == "critical"
	f.checkov == "CKV_K8S_16"
	f.resource == "Deployment/web"
	f.msg == "Deployment/web: container \"app\" is privileged"
}

test_privileged_init_container_in_cronjob_denied if {
	cron := {"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
		"containers": [hardened],
		"initContainers": [object.union(with_security({"privileged": true}), {"name": "setup"})],
	}}}}}}
	fs := deny_privileged with input as cron
	{f.msg | some f in fs} == {"CronJob/nightly: init container \"setup\" is privileged"}
}

# STRATA-K8S-002

test_privilege_escalation_denied if {
	c := without_security(["allowPrivilegeEscalation"])
	fs := deny_privilege_escalation with input as deployment({"containers": [c]})
	some f in fs
	f.id == "STRATA-K8S-002"
	f.checkov == "CKV_K8S_20"
	count(deny_privilege_escalation) == 1 with input as deployment({"containers": [with_security({"allowPrivilegeEscalation": true})]})
}

# STRATA-K8S-003

test_root_user_denied if {
	fs := deny_run_as_root with input as deployment({"containers": [with_security({"runAsUser": 0})]})
	some f in fs
	f.id == "STRATA-K8S-003"
	f.checkov == "CKV_K8S_23"
	f.msg == "Deployment/web: container \"app\" runs as UID 0"
}

test_no_user_settings_denied if {
	c := without_security(["runAsNonRoot", "runAsUser"])
	count(deny_run_as_root) == 1 with input as deployment({"containers": [c]})
}

# A container whose securityContext is null takes the pod's settings.
test_null_container_security_context_takes_the_pods if {
	c := object.union(without_security(["runAsNonRoot", "runAsUser"]), {"securityContext": null})
	count(deny_run_as_root) == 1 with input as deployment({"containers": [c]})
	count(deny_run_as_root) == 0 with input as deployment({"securityContext": {"runAsNonRoot": true}, "containers": [c]})
}

test_pod_level_non_root_passes if {
	c := without_security(["runAsNonRoot", "runAsUser"])
	count(deny_run_as_root) == 0 with input as deployment({"securityContext": {"runAsNonRoot": true}, "containers": [c]})
	count(deny_run_as_root) == 0 with input as deployment({"securityContext": {"runAsUser": 1000}, "containers": [c]})
}

test_container_root_overrides_pod_non_root if {
	inp := deployment({"securityContext": {"runAsUser": 1000, "runAsNonRoot": true}, "containers": [with_security({"runAsUser": 0})]})
	count(deny_run_as_root) == 1 with input as inp
}

# STRATA-K8S-004

test_writable_root_filesystem_denied if {
	fs := deny_read_only_root_filesystem with input as deployment({"containers": [with_security({"readOnlyRootFilesystem": false})]})
	some f in fs
	f.id == "STRATA-K8S-004"
	f.checkov == "CKV_K8S_22"
}

# STRATA-K8S-005

test_capabilities_not_dropped_denied if {
	fs := deny_drop_all_capabilities with input as deployment({"containers": [with_security({"capabilities": {"drop": ["NET_RAW"]}})]})
	some f in fs
	f.id == "STRATA-K8S-005"
	f.checkov == "CKV_K8S_37"
	count(deny_drop_all_capabilities) == 1 with input as deployment({"containers": [object.remove(hardened, ["securityContext"])]})
}

# STRATA-K8S-006

test_added_capabilities_denied if {
	c := with_security({"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "CAP_SYS_ADMIN", "all"]}})
	fs := deny_added_capabilities with input as deployment({"containers": [c]})
	{[f.msg, f.severity, object.get(f, "checkov", "")] | some f in fs} == {
		["Deployment/web: container \"app\" adds the NET_ADMIN capability", "medium", "CKV_K8S_25"],
		["Deployment/web: container \"app\" adds the SYS_ADMIN capability", "high", "CKV_K8S_39"],
		["Deployment/web: container \"app\" adds the ALL capability", "high", "CKV_K8S_25"],
	}
	every f in fs {
		f.id == "STRATA-K8S-006"
	}
}

test_objects_without_a_name_are_named_by_generate_name if {
	job := {"kind": "Job", "metadata": {"generateName": "migrate-"}, "spec": {"template": {"spec": {"containers": [with_security({"privileged": true})]}}}}
	{f.resource | some f in deny_privileged} == {"Job/migrate-"} with input as job
	pod := {"kind": "Pod", "metadata": {}, "spec": {"containers": [with_security({"privileged": true})]}}
	{f.resource | some f in deny_privileged} == {"Pod/(unnamed)"} with input as pod
}
