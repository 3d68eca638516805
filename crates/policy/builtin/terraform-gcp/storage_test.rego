package builtin.gcp

import rego.v1

# Every unknown_ rule of this package, for tests that want none or a given set.
unknowns := union({
	unknown_firewall_all_ports_open,
	unknown_firewall_rdp_open,
	unknown_firewall_ssh_open,
	unknown_gcs_public_access_prevention,
	unknown_gcs_uniform_access,
	unknown_gcs_versioning,
	unknown_kms_rotation,
	unknown_sql_open_network,
	unknown_sql_public_ip,
	unknown_sql_ssl,
})

having(findings, id) := {f | some f in findings; f.id == id}

mock_bucket(body) := {"resource": {"google_storage_bucket": {"data": object.union({"name": "acme-data", "location": "EU"}, body)}}}

good_bucket := mock_bucket({
	"uniform_bucket_level_access": true,
	"public_access_prevention": "enforced",
	"versioning": {"enabled": true},
	"logging": {"log_bucket": "acme-logs"},
	"encryption": {"default_kms_key_name": "${google_kms_crypto_key.data.id}"},
})

test_complete_bucket_has_no_findings if {
	count(deny_gcs_uniform_access) == 0 with input as good_bucket
	count(deny_gcs_public_access_prevention) == 0 with input as good_bucket
	count(deny_gcs_public_iam) == 0 with input as good_bucket
	count(deny_gcs_versioning) == 0 with input as good_bucket
	count(deny_gcs_access_logging) == 0 with input as good_bucket
	count(deny_gcs_cmek) == 0 with input as good_bucket
	count(unknowns) == 0 with input as good_bucket
}

# STRATA-GCP-001

test_gcs_uniform_access_missing_denied if {
	fs := deny_gcs_uniform_access with input as mock_bucket({})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-001"
	f.checkov == "CKV_GCP_29"
	f.resource == "google_storage_bucket.data"
}

test_gcs_uniform_access_computed_is_unknown if {
	inp := mock_bucket({"uniform_bucket_level_access": "${var.uniform}"})
	count(deny_gcs_uniform_access) == 0 with input as inp
	count(having(unknowns, "STRATA-GCP-001")) == 1 with input as inp
}

# STRATA-GCP-002

test_gcs_public_access_prevention_inherited_denied if {
	fs := deny_gcs_public_access_prevention with input as mock_bucket({"public_access_prevention": "inherited"})
	some f in fs
	f.id == "STRATA-GCP-002"
	f.checkov == "CKV_GCP_114"
	f.msg == "google_storage_bucket.data has public_access_prevention \"inherited\", not \"enforced\""
}

test_gcs_public_access_prevention_computed_is_unknown if {
	inp := mock_bucket({"public_access_prevention": "${var.pap}"})
	count(deny_gcs_public_access_prevention) == 0 with input as inp
	count(having(unknowns, "STRATA-GCP-002")) == 1 with input as inp
}

# STRATA-GCP-003

test_gcs_public_iam_member_denied if {
	fs := deny_gcs_public_iam with input as {"resource": {"google_storage_bucket_iam_member": {"public": {
		"bucket": "${google_storage_bucket.data.name}",
		"role": "roles/storage.objectViewer",
		"member": "allUsers",
	}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-003"
	f.severity == "critical"
	f.checkov == "CKV_GCP_28"
	f.resource == "google_storage_bucket_iam_member.public"
}

test_gcs_public_binding_acl_and_access_control_denied if {
	fs := deny_gcs_public_iam with input as {"resource": {
		"google_storage_bucket_iam_binding": {"b": {"members": ["group:sre@acme.example", "allAuthenticatedUsers"]}},
		"google_storage_bucket_acl": {"a": {"role_entity": ["OWNER:user-ops@acme.example", "READER:allUsers"]}},
		"google_storage_default_object_access_control": {"d": {"entity": "allUsers", "role": "READER"}},
	}}
	{f.resource | some f in fs} == {
		"google_storage_bucket_iam_binding.b",
		"google_storage_bucket_acl.a",
		"google_storage_default_object_access_control.d",
	}
}

test_gcs_named_members_pass if {
	count(deny_gcs_public_iam) == 0 with input as {"resource": {
		"google_storage_bucket_iam_member": {"m": {"member": "serviceAccount:app@acme.iam.gserviceaccount.com"}},
		"google_storage_bucket_iam_binding": {"b": {"members": ["group:sre@acme.example"]}},
	}}
}

# STRATA-GCP-004

test_gcs_versioning_missing_denied if {
	fs := deny_gcs_versioning with input as mock_bucket({"versioning": {"enabled": false}})
	some f in fs
	f.id == "STRATA-GCP-004"
	f.checkov == "CKV_GCP_78"
}

test_gcs_versioning_computed_is_unknown if {
	inp := mock_bucket({"versioning": {"enabled": "${var.versioning}"}})
	count(deny_gcs_versioning) == 0 with input as inp
	count(having(unknowns, "STRATA-GCP-004")) == 1 with input as inp
}

# STRATA-GCP-005

test_gcs_access_logging_missing_denied if {
	fs := deny_gcs_access_logging with input as mock_bucket({})
	some f in fs
	f.id == "STRATA-GCP-005"
	f.checkov == "CKV_GCP_62"
}

# STRATA-GCP-006

test_gcs_cmek_missing_denied if {
	fs := deny_gcs_cmek with input as mock_bucket({"encryption": {}})
	some f in fs
	f.id == "STRATA-GCP-006"
	not f.checkov
}
