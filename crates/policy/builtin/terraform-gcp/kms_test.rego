package builtin.gcp

import rego.v1

mock_key(body) := {"resource": {"google_kms_crypto_key": {"data": object.union({"name": "data", "key_ring": "${google_kms_key_ring.main.id}"}, body)}}}

# STRATA-GCP-014

test_kms_without_rotation_denied if {
	fs := deny_kms_rotation with input as mock_key({})
	count(fs) == 1
	some f in fs
	f.id == "STRATA-GCP-014"
	f.checkov == "CKV_GCP_43"
	f.resource == "google_kms_crypto_key.data"
}

test_kms_rotation_over_90_days_denied if {
	fs := deny_kms_rotation with input as mock_key({"rotation_period": "31536000s"})
	some f in fs
	f.msg == "google_kms_crypto_key.data rotates every 31536000s, more than 90 days"
}

test_kms_rotation_90_days_passes if {
	count(deny_kms_rotation) == 0 with input as mock_key({"rotation_period": "7776000s"})
}

test_kms_asymmetric_key_passes if {
	count(deny_kms_rotation) == 0 with input as mock_key({"purpose": "ASYMMETRIC_SIGN"})
}

test_kms_rotation_computed_is_unknown if {
	inp := mock_key({"rotation_period": "${var.rotation}"})
	count(deny_kms_rotation) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-GCP-014"} with input as inp
}
