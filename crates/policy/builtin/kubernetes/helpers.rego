# Helpers for the Kubernetes rules of this directory.
#
# Input: one rendered object (a Deployment, CronJob, Pod, ...), as parsed from YAML.
# Objects that carry no pod template (Service, ConfigMap, ...) have no pod_spec, so no
# rule applies to them.
package builtin.kubernetes

import rego.v1

template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

pod_spec := input.spec.template.spec if input.kind in template_kinds

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.template.spec if input.kind == "PodTemplate"

# Kind/name, as findings name the object (generateName when it has no name yet).
workload := sprintf("%s/%s", [input.kind, object_name])

object_name := input.metadata.name

object_name := input.metadata.generateName if not input.metadata.name

object_name := "(unnamed)" if {
	not input.metadata.name
	not input.metadata.generateName
}

# Every container and init container: {"label": "container \"app\"", "spec": {...}}.
containers contains {"label": sprintf("container %q", [object.get(c, "name", "")]), "spec": c} if {
	some c in pod_spec.containers
}

containers contains {"label": sprintf("init container %q", [object.get(c, "name", "")]), "spec": c} if {
	some c in pod_spec.initContainers
}

# A security setting of a container, falling back to the pod's securityContext (for the
# fields both levels have: runAsUser, runAsNonRoot, ...).
security(c, field) := c.securityContext[field]

security(c, field) := pod_spec.securityContext[field] if {
	not field in own_security_fields(c)
}

# The fields a container's own securityContext sets (none when it is absent or null).
own_security_fields(c) := object.keys(c.securityContext) if {
	is_object(c.securityContext)
} else := set()

# A finding: the rule's metadata plus where and what.
finding(meta, msg) := object.union(object.remove(meta, ["checkov_ids"]), {"resource": workload, "msg": sprintf("%s: %s", [workload, msg])})
