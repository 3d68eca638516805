# Access to the node: host namespaces, host paths and host ports.
package builtin.kubernetes

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-K8S-012: hostPath volume.

host_path := {
	"id": "STRATA-K8S-012",
	"severity": "high",
	"title": "Pod mounts a hostPath volume",
	"remediation": "Use a persistentVolumeClaim, emptyDir, configMap or a CSI volume; a hostPath exposes the node's filesystem to the pod.",
	"checkov_ids": ["CKV_K8S_27"],
}

# The container runtime's socket gives control of every container on the node.
runtime_sockets := {"/var/run/docker.sock", "/run/docker.sock", "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock", "/var/run/crio/crio.sock"}

docker_sockets := {"/var/run/docker.sock", "/run/docker.sock"}

host_path_meta(path) := object.union(host_path, {"severity": "critical", "checkov": "CKV_K8S_27"}) if path in docker_sockets

host_path_meta(path) := object.union(host_path, {"severity": "critical"}) if {
	path in runtime_sockets
	not path in docker_sockets
}

host_path_meta(path) := host_path if not path in runtime_sockets

deny_host_path contains f if {
	some volume in pod_spec.volumes
	path := trim_suffix(volume.hostPath.path, "/")
	f := finding(host_path_meta(path), sprintf("volume %q mounts the host path %s", [volume.name, volume.hostPath.path]))
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-013 to 015: host namespaces.

host_network := {
	"id": "STRATA-K8S-013",
	"severity": "high",
	"title": "Pod uses the host network",
	"remediation": "Remove hostNetwork: true and expose the pod through a Service.",
	"checkov": "CKV_K8S_19",
}

deny_host_network contains f if {
	pod_spec.hostNetwork == true
	f := finding(host_network, "hostNetwork is true")
}

host_pid := {
	"id": "STRATA-K8S-014",
	"severity": "high",
	"title": "Pod shares the host process namespace",
	"remediation": "Remove hostPID: true.",
	"checkov": "CKV_K8S_17",
}

deny_host_pid contains f if {
	pod_spec.hostPID == true
	f := finding(host_pid, "hostPID is true")
}

host_ipc := {
	"id": "STRATA-K8S-015",
	"severity": "high",
	"title": "Pod shares the host IPC namespace",
	"remediation": "Remove hostIPC: true.",
	"checkov": "CKV_K8S_18",
}

deny_host_ipc contains f if {
	pod_spec.hostIPC == true
	f := finding(host_ipc, "hostIPC is true")
}

# ---------------------------------------------------------------------------------------
# STRATA-K8S-016: container port bound on the node.

host_port := {
	"id": "STRATA-K8S-016",
	"severity": "medium",
	"title": "Container binds a host port",
	"remediation": "Remove hostPort and expose the container through a Service (NodePort or LoadBalancer if it must be reached from outside).",
	"checkov": "CKV_K8S_26",
}

deny_host_port contains f if {
	some c in containers
	some port in c.spec.ports
	object.get(port, "hostPort", 0) != 0
	f := finding(host_port, sprintf("%s binds host port %v", [c.label, port.hostPort]))
}
