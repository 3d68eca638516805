# Every container that Kubernetes schedules must declare CPU and memory
# limits, so one misbehaving workload cannot starve its neighbours.
#
# Input: a single rendered Kubernetes manifest (one YAML document).
package main

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec := input.spec.template.spec if input.kind in workload_kinds

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

pod_spec := input.spec if input.kind == "Pod"

containers contains container if {
	some container in pod_spec.containers
}

containers contains container if {
	some container in pod_spec.initContainers
}

deny contains msg if {
	some container in containers
	some resource in ["cpu", "memory"]
	not container.resources.limits[resource]
	msg := sprintf(
		"%s/%s: container %q has no %s limit (set resources.limits.%s)",
		[input.kind, input.metadata.name, container.name, resource, resource],
	)
}
