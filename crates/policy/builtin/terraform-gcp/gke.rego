# GKE clusters and node pools: legacy authorisation, control plane exposure, node
# hardening, network policy, logs and metrics.
package builtin.gcp

import rego.v1

clusters := resources("google_container_cluster")

cluster_finding(meta, name, msg) := finding(meta, addr("google_container_cluster", name), sprintf("google_container_cluster.%s %s", [name, msg]))

# ---------------------------------------------------------------------------------------
# STRATA-GCP-015: legacy ABAC authorisation.

gke_legacy_abac := {
	"id": "STRATA-GCP-015",
	"severity": "high",
	"title": "GKE cluster with legacy ABAC authorisation",
	"remediation": "Remove enable_legacy_abac (or set it to false) and grant access with Kubernetes RBAC and IAM.",
	"checkov": "CKV_GCP_7",
}

deny_gke_legacy_abac contains f if {
	some [name, cluster] in clusters
	flag(cluster, ["enable_legacy_abac"], false) == "on"
	f := cluster_finding(gke_legacy_abac, name, "enables legacy ABAC (enable_legacy_abac = true)")
}

unknown_gke_legacy_abac contains f if {
	some [name, cluster] in clusters
	flag(cluster, ["enable_legacy_abac"], false) == "computed"
	f := finding(gke_legacy_abac, addr("google_container_cluster", name), sprintf("google_container_cluster.%s: enable_legacy_abac is known only after apply", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-016: basic authentication with a static user and password.

gke_basic_auth := {
	"id": "STRATA-GCP-016",
	"severity": "high",
	"title": "GKE cluster with basic authentication",
	"remediation": "Remove master_auth.username and master_auth.password; authenticate with Google identities.",
}

deny_gke_basic_auth contains f if {
	some [name, cluster] in clusters
	auth := first(cluster, "master_auth")
	some key in ["username", "password"]
	is_string(auth[key])
	auth[key] != ""
	f := cluster_finding(gke_basic_auth, name, sprintf("sets master_auth.%s (basic authentication)", [key]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-017: client certificates issued to the cluster's clients.

gke_client_certificate := {
	"id": "STRATA-GCP-017",
	"severity": "medium",
	"title": "GKE cluster issues client certificates",
	"remediation": "Set master_auth.client_certificate_config.issue_client_certificate = false; a leaked client certificate cannot be revoked.",
	"checkov": "CKV_GCP_13",
}

deny_gke_client_certificate contains f if {
	some [name, cluster] in clusters
	config := first(first(cluster, "master_auth"), "client_certificate_config")
	flag(config, ["issue_client_certificate"], false) == "on"
	f := cluster_finding(gke_client_certificate, name, "issues client certificates (issue_client_certificate = true)")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-018: a control plane reachable from any address.

gke_master_authorized_networks := {
	"id": "STRATA-GCP-018",
	"severity": "medium",
	"title": "GKE control plane without authorised networks",
	"remediation": "Add master_authorized_networks_config with the cidr_blocks that need the API (or make the endpoint private).",
	"checkov": "CKV_GCP_20",
}

deny_gke_master_authorized_networks contains f if {
	some [name, cluster] in clusters
	not has_block(cluster, "master_authorized_networks_config")
	f := cluster_finding(gke_master_authorized_networks, name, "has no master_authorized_networks_config, so its API accepts every address")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-019: an authorised network that is the whole internet.

gke_public_control_plane := {
	"id": "STRATA-GCP-019",
	"severity": "high",
	"title": "GKE control plane authorised for the whole internet",
	"remediation": "Replace 0.0.0.0/0 in master_authorized_networks_config with the ranges that need the API.",
	"checkov": "CKV_GCP_18",
}

deny_gke_public_control_plane contains f if {
	some [name, cluster] in clusters
	some config in blocks(object.get(cluster, "master_authorized_networks_config", []))
	some block in blocks(object.get(config, "cidr_blocks", []))
	block.cidr_block == "0.0.0.0/0"
	f := cluster_finding(gke_public_control_plane, name, "authorises 0.0.0.0/0 to reach its control plane")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-020: nodes with public IP addresses.

gke_private_nodes := {
	"id": "STRATA-GCP-020",
	"severity": "medium",
	"title": "GKE cluster nodes have public IP addresses",
	"remediation": "Add private_cluster_config { enable_private_nodes = true } (nodes reach the internet through Cloud NAT).",
	"checkov": "CKV_GCP_64",
}

deny_gke_private_nodes contains f if {
	some [name, cluster] in clusters
	flag(first(cluster, "private_cluster_config"), ["enable_private_nodes"], false) == "off"
	f := cluster_finding(gke_private_nodes, name, "does not set private_cluster_config.enable_private_nodes = true")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-021: no network policy enforcement.

gke_network_policy := {
	"id": "STRATA-GCP-021",
	"severity": "medium",
	"title": "GKE cluster does not enforce network policies",
	"remediation": "Set datapath_provider = \"ADVANCED_DATAPATH\" (Dataplane V2 enforces NetworkPolicies), or network_policy { enabled = true } with addons_config.network_policy_config.",
	"checkov": "CKV_GCP_12",
}

enforces_network_policy(cluster) if cluster.datapath_provider == "ADVANCED_DATAPATH"

enforces_network_policy(cluster) if flag(first(cluster, "network_policy"), ["enabled"], false) != "off"

deny_gke_network_policy contains f if {
	some [name, cluster] in clusters
	not enforces_network_policy(cluster)
	f := cluster_finding(gke_network_policy, name, "does not enforce NetworkPolicies (no Dataplane V2, network_policy not enabled)")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-022, 023: logs and metrics sent nowhere.

gke_logging := {
	"id": "STRATA-GCP-022",
	"severity": "low",
	"title": "GKE cluster logging turned off",
	"remediation": "Remove logging_service = \"none\" (the default sends logs to Cloud Logging).",
	"checkov": "CKV_GCP_1",
}

deny_gke_logging contains f if {
	some [name, cluster] in clusters
	cluster.logging_service == "none"
	f := cluster_finding(gke_logging, name, "sets logging_service = \"none\"")
}

gke_monitoring := {
	"id": "STRATA-GCP-023",
	"severity": "low",
	"title": "GKE cluster monitoring turned off",
	"remediation": "Remove monitoring_service = \"none\" (the default sends metrics to Cloud Monitoring).",
	"checkov": "CKV_GCP_8",
}

deny_gke_monitoring contains f if {
	some [name, cluster] in clusters
	cluster.monitoring_service == "none"
	f := cluster_finding(gke_monitoring, name, "sets monitoring_service = \"none\"")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-024: Shielded GKE Nodes turned off.

gke_shielded_nodes := {
	"id": "STRATA-GCP-024",
	"severity": "medium",
	"title": "GKE cluster without Shielded Nodes",
	"remediation": "Remove enable_shielded_nodes = false: Shielded Nodes prove a node's identity to the control plane.",
	"checkov": "CKV_GCP_71",
}

deny_gke_shielded_nodes contains f if {
	some [name, cluster] in clusters
	flag(cluster, ["enable_shielded_nodes"], true) == "off"
	f := cluster_finding(gke_shielded_nodes, name, "sets enable_shielded_nodes = false")
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-025, 026: node pools that are not repaired or upgraded automatically.

gke_node_auto_repair := {
	"id": "STRATA-GCP-025",
	"severity": "medium",
	"title": "GKE node pool without automatic repair",
	"remediation": "Remove management.auto_repair = false.",
	"checkov": "CKV_GCP_9",
}

gke_node_auto_upgrade := {
	"id": "STRATA-GCP-026",
	"severity": "medium",
	"title": "GKE node pool without automatic upgrades",
	"remediation": "Remove management.auto_upgrade = false, so nodes get security patches with the control plane.",
	"checkov": "CKV_GCP_10",
}

deny_gke_node_auto_repair contains f if {
	some [name, pool] in resources("google_container_node_pool")
	flag(first(pool, "management"), ["auto_repair"], true) == "off"
	f := finding(gke_node_auto_repair, addr("google_container_node_pool", name), sprintf("google_container_node_pool.%s sets management.auto_repair = false", [name]))
}

deny_gke_node_auto_upgrade contains f if {
	some [name, pool] in resources("google_container_node_pool")
	flag(first(pool, "management"), ["auto_upgrade"], true) == "off"
	f := finding(gke_node_auto_upgrade, addr("google_container_node_pool", name), sprintf("google_container_node_pool.%s sets management.auto_upgrade = false", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-027: pods that can read the node's metadata (and its service account).

gke_metadata_server := {
	"id": "STRATA-GCP-027",
	"severity": "medium",
	"title": "GKE nodes expose the Compute Engine metadata server to pods",
	"remediation": "Set node_config.workload_metadata_config.mode = \"GKE_METADATA\" (with Workload Identity), so pods cannot read the node's credentials.",
	"checkov": "CKV_GCP_69",
}

metadata_mode(node_config) := object.get(first(node_config, "workload_metadata_config"), "mode", object.get(first(node_config, "workload_metadata_config"), "node_metadata", "GCE_METADATA"))

protected_metadata(node_config) if metadata_mode(node_config) in {"GKE_METADATA", "GKE_METADATA_SERVER"}

protected_metadata(node_config) if computed(metadata_mode(node_config))

deny_gke_metadata_server contains f if {
	some type in ["google_container_cluster", "google_container_node_pool"]
	some [name, body] in resources(type)
	has_block(body, "node_config")
	not protected_metadata(first(body, "node_config"))
	f := finding(gke_metadata_server, addr(type, name), sprintf("%s.%s: node_config does not use the GKE metadata server (workload_metadata_config.mode)", [type, name]))
}

deny_gke_metadata_server contains f if {
	some [name, cluster] in clusters
	not has_block(cluster, "node_config")
	not enabled(object.get(cluster, "remove_default_node_pool", false))
	f := cluster_finding(gke_metadata_server, name, "has a default node pool without workload_metadata_config")
}
