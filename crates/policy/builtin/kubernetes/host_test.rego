package builtin.kubernetes

import rego.v1

# STRATA-K8S-012

test_host_path_denied if {
	fs := deny_host_path with input as deployment({"containers": [hardened], "volumes": [
		{"name": "config", "configMap": {"name": "app"}},
		{"name": "logs", "hostPath": {"path": "/var/log"}},
	]})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-K8S-012"
	f.severity == "high"
	not f.checkov
	f.msg == "Deployment/web: volume \"logs\" mounts the host path /var/log"
}

test_runtime_sockets_are_critical if {
	fs := deny_host_path with input as {"kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"template": {"spec": {"containers": [hardened], "volumes": [
		{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}},
		{"name": "containerd", "hostPath": {"path": "/run/containerd/containerd.sock", "type": "Socket"}},
	]}}}}
	{[f.severity, object.get(f, "checkov", "")] | some f in fs} == {["critical", "CKV_K8S_27"], ["critical", ""]}
}

test_volumes_without_host_path_pass if {
	count(deny_host_path) == 0 with input as deployment({"containers": [hardened], "volumes": [{"name": "tmp", "emptyDir": {}}]})
}

# STRATA-K8S-013 to 015

test_host_namespaces_denied if {
	network := deployment({"containers": [hardened], "hostNetwork": true})
	{[f.id, f.checkov] | some f in deny_host_network} == {["STRATA-K8S-013", "CKV_K8S_19"]} with input as network
	pid := deployment({"containers": [hardened], "hostPID": true})
	{[f.id, f.checkov] | some f in deny_host_pid} == {["STRATA-K8S-014", "CKV_K8S_17"]} with input as pid
	ipc := deployment({"containers": [hardened], "hostIPC": true})
	{[f.id, f.checkov] | some f in deny_host_ipc} == {["STRATA-K8S-015", "CKV_K8S_18"]} with input as ipc

	# each flag is its own rule
	count(deny_host_pid) == 0 with input as network
	count(deny_host_ipc) == 0 with input as pid
	count(deny_host_network) == 0 with input as ipc
}

test_host_namespaces_off_pass if {
	inp := deployment({"containers": [hardened], "hostNetwork": false, "hostPID": false, "hostIPC": false})
	count(deny_host_network) == 0 with input as inp
	count(deny_host_pid) == 0 with input as inp
	count(deny_host_ipc) == 0 with input as inp
}

# STRATA-K8S-016

test_host_port_denied if {
	c := object.union(hardened, {"ports": [{"containerPort": 8080}, {"containerPort": 9100, "hostPort": 9100}]})
	fs := deny_host_port with input as deployment({"containers": [c]})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-K8S-016"
	f.checkov == "CKV_K8S_26"
	f.msg == "Deployment/web: container \"app\" binds host port 9100"
}

test_container_ports_pass if {
	c := object.union(hardened, {"ports": [{"containerPort": 8080, "protocol": "TCP"}]})
	count(deny_host_port) == 0 with input as deployment({"containers": [c]})
}
