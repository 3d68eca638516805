# Tests for kubernetes.rego: `strata policy test policies/baseline`.
package main

import rego.v1

limited := {"name": "app", "image": "registry.acme.example/app:1.0.0", "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}}

unlimited := {"name": "app", "image": "registry.acme.example/app:1.0.0"}

deployment(containers) := {
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {"containers": containers}}},
}

test_deployment_with_limits_passes if {
	count(deny) == 0 with input as deployment([limited])
}

test_deployment_without_limits_is_denied if {
	count(deny) == 2 with input as deployment([unlimited])
}

test_cronjob_containers_are_checked if {
	cron := {
		"kind": "CronJob",
		"metadata": {"name": "nightly"},
		"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [unlimited]}}}}},
	}
	count(deny) == 2 with input as cron
}

test_init_containers_are_checked if {
	pod := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [limited], "initContainers": [unlimited]}}
	count(deny) == 2 with input as pod
}

test_services_are_not_workloads if {
	count(deny) == 0 with input as {"kind": "Service", "metadata": {"name": "web"}, "spec": {}}
}
