# Projects, subnets, BigQuery, Cloud DNS and IAM: flow logs, the default network, public
# datasets and keys, DNSSEC, basic and impersonation roles.
package builtin.gcp

import rego.v1

public_members := {"allUsers", "allAuthenticatedUsers"}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-033: subnet traffic not logged.

subnet_flow_logs := {
	"id": "STRATA-GCP-033",
	"severity": "low",
	"title": "Subnet without VPC flow logs",
	"remediation": "Add log_config { aggregation_interval = \"INTERVAL_5_SEC\", flow_sampling = 0.5, metadata = \"INCLUDE_ALL_METADATA\" }.",
	"checkov": "CKV_GCP_26",
}

# Proxy-only subnets carry no VM traffic and take no flow logs.
proxy_subnet(subnet) if object.get(subnet, "purpose", "PRIVATE") in {"INTERNAL_HTTPS_LOAD_BALANCER", "REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY", "PRIVATE_SERVICE_CONNECT"}

deny_subnet_flow_logs contains f if {
	some [name, subnet] in resources("google_compute_subnetwork")
	not proxy_subnet(subnet)
	not has_block(subnet, "log_config")
	f := finding(subnet_flow_logs, addr("google_compute_subnetwork", name), sprintf("google_compute_subnetwork.%s has no log_config (VPC flow logs)", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-034: subnet VMs without a public IP cannot reach Google APIs privately.

subnet_private_google_access := {
	"id": "STRATA-GCP-034",
	"severity": "low",
	"title": "Subnet without Private Google Access",
	"remediation": "Set private_ip_google_access = true, so VMs without external IPs reach Google APIs without a NAT or a public address.",
	"checkov": "CKV_GCP_74",
}

deny_subnet_private_google_access contains f if {
	some [name, subnet] in resources("google_compute_subnetwork")
	not proxy_subnet(subnet)
	flag(subnet, ["private_ip_google_access"], false) == "off"
	f := finding(subnet_private_google_access, addr("google_compute_subnetwork", name), sprintf("google_compute_subnetwork.%s does not set private_ip_google_access = true", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-035: a project created with the default network.

project_default_network := {
	"id": "STRATA-GCP-035",
	"severity": "medium",
	"title": "Project created with the default network",
	"remediation": "Set auto_create_network = false; the default network opens SSH, RDP and ICMP from anywhere.",
	"checkov": "CKV_GCP_27",
}

deny_project_default_network contains f if {
	some [name, project] in resources("google_project")
	flag(project, ["auto_create_network"], true) == "on"
	f := finding(project_default_network, addr("google_project", name), sprintf("google_project.%s creates the default network (auto_create_network is not false)", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-036: a BigQuery dataset anyone can read.

bigquery_public := {
	"id": "STRATA-GCP-036",
	"severity": "critical",
	"title": "BigQuery dataset readable by everyone",
	"remediation": "Remove allUsers and allAuthenticatedUsers from the dataset's access and IAM; grant named groups or service accounts.",
	"checkov": "CKV_GCP_15",
}

deny_bigquery_public contains f if {
	some [name, dataset] in resources("google_bigquery_dataset")
	some access in blocks(object.get(dataset, "access", []))
	some key in ["special_group", "iam_member"]
	access[key] in public_members
	f := finding(bigquery_public, addr("google_bigquery_dataset", name), sprintf("google_bigquery_dataset.%s grants %s access to %s", [name, object.get(access, "role", "some"), access[key]]))
}

deny_bigquery_public contains f if {
	some type in ["google_bigquery_dataset_iam_member", "google_bigquery_dataset_iam_binding"]
	some [name, body] in resources(type)
	some member in array.concat(as_list(object.get(body, "member", [])), as_list(object.get(body, "members", [])))
	member in public_members
	f := finding(bigquery_public, addr(type, name), sprintf("%s grants %s to %s", [addr(type, name), object.get(body, "role", "access"), member]))
}

deny_bigquery_public contains f if {
	some [name, body] in resources("google_bigquery_dataset_access")
	some key in ["special_group", "iam_member"]
	body[key] in public_members
	f := finding(bigquery_public, addr("google_bigquery_dataset_access", name), sprintf("google_bigquery_dataset_access.%s grants access to %s", [name, body[key]]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-037, 038: DNSSEC for public zones.

dns_dnssec := {
	"id": "STRATA-GCP-037",
	"severity": "medium",
	"title": "Public Cloud DNS zone without DNSSEC",
	"remediation": "Add dnssec_config { state = \"on\" } and publish the DS record at the registrar.",
	"checkov": "CKV_GCP_16",
}

public_zones contains [name, zone] if {
	some [name, zone] in resources("google_dns_managed_zone")
	object.get(zone, "visibility", "public") == "public"
}

deny_dns_dnssec contains f if {
	some [name, zone] in public_zones
	object.get(first(zone, "dnssec_config"), "state", "off") == "off"
	f := finding(dns_dnssec, addr("google_dns_managed_zone", name), sprintf("google_dns_managed_zone.%s is public and does not turn dnssec_config on", [name]))
}

dns_rsasha1 := {
	"id": "STRATA-GCP-038",
	"severity": "medium",
	"title": "Cloud DNS zone signs with RSASHA1",
	"remediation": "Use rsasha256, rsasha512 or ecdsap256sha256 in dnssec_config.default_key_specs.",
	"checkov": "CKV_GCP_17",
}

deny_dns_rsasha1 contains f if {
	some [name, zone] in resources("google_dns_managed_zone")
	some spec in blocks(object.get(first(zone, "dnssec_config"), "default_key_specs", []))
	lower(object.get(spec, "algorithm", "")) == "rsasha1"
	f := finding(dns_rsasha1, addr("google_dns_managed_zone", name), sprintf("google_dns_managed_zone.%s signs its %s with RSASHA1", [name, object.get(spec, "key_type", "keys")]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-039, 040: project-level IAM.

project_iam_types := ["google_project_iam_member", "google_project_iam_binding"]

project_grants contains [addr(type, name), body.role, members] if {
	some type in project_iam_types
	some [name, body] in resources(type)
	members := array.concat(as_list(object.get(body, "member", [])), as_list(object.get(body, "members", [])))
}

project_basic_roles := {
	"id": "STRATA-GCP-039",
	"severity": "high",
	"title": "Basic role granted at project level",
	"remediation": "Grant predefined or custom roles with the permissions needed instead of roles/owner, roles/editor or roles/viewer.",
	"checkov": "CKV_GCP_117",
}

deny_project_basic_roles contains f if {
	some [address, role, _] in project_grants
	role in {"roles/owner", "roles/editor", "roles/viewer"}
	f := finding(project_basic_roles, address, sprintf("%s grants the basic role %s on the project", [address, role]))
}

project_service_account_impersonation := {
	"id": "STRATA-GCP-040",
	"severity": "medium",
	"title": "Service account impersonation granted at project level",
	"remediation": "Grant roles/iam.serviceAccountUser and roles/iam.serviceAccountTokenCreator on the service accounts that need it, not on the project (which covers every account in it).",
	"checkov": "CKV_GCP_41",
}

deny_project_service_account_impersonation contains f if {
	some [address, role, members] in project_grants
	role in {"roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator"}
	some member in members
	startswith(member, "user:")
	f := finding(project_service_account_impersonation, address, sprintf("%s lets %s act as every service account of the project (%s)", [address, member, role]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-041: a KMS key anyone can use.

kms_public := {
	"id": "STRATA-GCP-041",
	"severity": "critical",
	"title": "Cloud KMS key accessible to everyone",
	"remediation": "Remove allUsers and allAuthenticatedUsers from the key's IAM; grant named service accounts.",
	"checkov": "CKV_GCP_112",
}

deny_kms_public contains f if {
	some type in ["google_kms_crypto_key_iam_member", "google_kms_crypto_key_iam_binding"]
	some [name, body] in resources(type)
	some member in array.concat(as_list(object.get(body, "member", [])), as_list(object.get(body, "members", [])))
	member in public_members
	f := finding(kms_public, addr(type, name), sprintf("%s grants %s to %s", [addr(type, name), object.get(body, "role", "access"), member]))
}
