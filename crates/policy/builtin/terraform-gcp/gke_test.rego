package builtin.gcp

import rego.v1

res(type, body) := {"resource": {type: {"x": body}}}

ids(fs) := {f.checkov | some f in fs}

hardened_cluster := {
	"master_authorized_networks_config": {"cidr_blocks": {"cidr_block": "10.0.0.0/8", "display_name": "vpn"}},
	"private_cluster_config": {"enable_private_nodes": true, "master_ipv4_cidr_block": "172.16.0.0/28"},
	"datapath_provider": "ADVANCED_DATAPATH",
	"remove_default_node_pool": true,
	"master_auth": {"client_certificate_config": {"issue_client_certificate": false}},
}

# STRATA-GCP-015 .. 027

test_default_cluster_denied if {
	inp := res("google_container_cluster", {"location": "europe-west1", "initial_node_count": 1})
	ids(deny_gke_master_authorized_networks) == {"CKV_GCP_20"} with input as inp
	ids(deny_gke_private_nodes) == {"CKV_GCP_64"} with input as inp
	ids(deny_gke_network_policy) == {"CKV_GCP_12"} with input as inp
	ids(deny_gke_metadata_server) == {"CKV_GCP_69"} with input as inp
	count(deny_gke_legacy_abac) == 0 with input as inp
	count(deny_gke_logging) == 0 with input as inp
	count(deny_gke_shielded_nodes) == 0 with input as inp
}

test_hardened_cluster_passes if {
	inp := res("google_container_cluster", hardened_cluster)
	count(deny_gke_master_authorized_networks) == 0 with input as inp
	count(deny_gke_public_control_plane) == 0 with input as inp
	count(deny_gke_private_nodes) == 0 with input as inp
	count(deny_gke_network_policy) == 0 with input as inp
	count(deny_gke_metadata_server) == 0 with input as inp
	count(deny_gke_client_certificate) == 0 with input as inp
	count(deny_gke_basic_auth) == 0 with input as inp
}

test_legacy_abac_basic_auth_and_client_certificates_denied if {
	inp := res("google_container_cluster", object.union(hardened_cluster, {
		"enable_legacy_abac": true,
		"master_auth": {"username": "admin", "password": "x", "client_certificate_config": {"issue_client_certificate": true}},
	}))
	ids(deny_gke_legacy_abac) == {"CKV_GCP_7"} with input as inp
	{f.id | some f in deny_gke_basic_auth} == {"STRATA-GCP-016"} with input as inp
	count(deny_gke_basic_auth) == 2 with input as inp
	ids(deny_gke_client_certificate) == {"CKV_GCP_13"} with input as inp
	count(unknown_gke_legacy_abac) == 1 with input as res("google_container_cluster", {"enable_legacy_abac": "${var.abac}"})
}

test_control_plane_open_to_all_denied if {
	inp := res("google_container_cluster", object.union(hardened_cluster, {"master_authorized_networks_config": {"cidr_blocks": [{"cidr_block": "10.0.0.0/8"}, {"cidr_block": "0.0.0.0/0"}]}}))
	ids(deny_gke_public_control_plane) == {"CKV_GCP_18"} with input as inp
}

test_network_policy_addon_passes if {
	inp := res("google_container_cluster", {"network_policy": {"enabled": true, "provider": "CALICO"}})
	count(deny_gke_network_policy) == 0 with input as inp
}

test_logs_metrics_and_shielded_nodes_turned_off_denied if {
	inp := res("google_container_cluster", object.union(hardened_cluster, {"logging_service": "none", "monitoring_service": "none", "enable_shielded_nodes": false}))
	ids(deny_gke_logging) == {"CKV_GCP_1"} with input as inp
	ids(deny_gke_monitoring) == {"CKV_GCP_8"} with input as inp
	ids(deny_gke_shielded_nodes) == {"CKV_GCP_71"} with input as inp
}

test_node_pool_without_repair_upgrade_or_metadata_server_denied if {
	inp := res("google_container_node_pool", {"management": {"auto_repair": false, "auto_upgrade": false}, "node_config": {"machine_type": "e2-medium"}})
	ids(deny_gke_node_auto_repair) == {"CKV_GCP_9"} with input as inp
	ids(deny_gke_node_auto_upgrade) == {"CKV_GCP_10"} with input as inp
	ids(deny_gke_metadata_server) == {"CKV_GCP_69"} with input as inp
}

test_node_pool_defaults_and_gke_metadata_pass if {
	inp := res("google_container_node_pool", {"node_config": {"workload_metadata_config": {"mode": "GKE_METADATA"}}})
	count(deny_gke_node_auto_repair) == 0 with input as inp
	count(deny_gke_node_auto_upgrade) == 0 with input as inp
	count(deny_gke_metadata_server) == 0 with input as inp
}
