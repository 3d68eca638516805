package builtin.terraform

import rego.v1

# Every unknown_ rule of this package, for tests that want none or a given set.
unknowns := union({
	unknown_backend_encryption,
	unknown_backend_local,
	unknown_backend_locking,
})

mock_backend(type, body) := {"terraform": {"backend": {type: body}}}

s3_complete := mock_backend("s3", {"bucket": "acme-state", "key": "network.tfstate", "region": "eu-west-1", "encrypt": true, "use_lockfile": true})

s3_plain := mock_backend("s3", {"bucket": "acme-state", "key": "network.tfstate", "region": "eu-west-1"})

local_state := mock_backend("local", {"path": "terraform.tfstate"})

test_complete_s3_backend_has_no_findings_anywhere if {
	every env in ["dev", "staging", "prod", null] {
		count(deny_backend_local) == 0 with input as s3_complete with data.strata as {"environment": env}
		count(deny_backend_encryption) == 0 with input as s3_complete with data.strata as {"environment": env}
		count(deny_backend_locking) == 0 with input as s3_complete with data.strata as {"environment": env}
		count(unknowns) == 0 with input as s3_complete with data.strata as {"environment": env}
	}
}

# STRATA-TF-003

test_local_backend_in_prod_is_critical if {
	fs := deny_backend_local with input as local_state with data.strata as {"label": "stacks/network", "environment": "prod"}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-003"
	f.severity == "critical"
	f.resource == "terraform.backend.local"
	f.msg == "the local backend keeps prod state on disk"
}

test_local_backend_in_staging_is_high if {
	fs := deny_backend_local with input as local_state with data.strata as {"environment": "staging"}
	some f in fs
	f.severity == "high"
}

test_local_backend_in_dev_passes if {
	count(deny_backend_local) == 0 with input as local_state with data.strata as {"environment": "dev"}
	count(unknowns) == 0 with input as local_state with data.strata as {"environment": "dev"}
}

test_local_backend_without_environment_is_unknown if {
	count(deny_backend_local) == 0 with input as local_state with data.strata as {"environment": null}
	{f.id | some f in unknowns} == {"STRATA-TF-003"} with input as local_state with data.strata as {"environment": null}
	{f.id | some f in unknowns} == {"STRATA-TF-003"} with input as local_state with data.strata as {"label": "modules/x"}
}

# STRATA-TF-004

test_unencrypted_s3_backend_outside_dev_denied if {
	fs := deny_backend_encryption with input as s3_plain with data.strata as {"environment": "prod"}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-TF-004"
	f.resource == "terraform.backend.s3"
}

test_unencrypted_backend_in_dev_passes if {
	count(deny_backend_encryption) == 0 with input as s3_plain with data.strata as {"environment": "dev"}
	count(deny_backend_encryption) == 0 with input as mock_backend("gcs", {"bucket": "acme-state"}) with data.strata as {"environment": "prod"}
}

test_unencrypted_backend_without_environment_is_unknown if {
	count(deny_backend_encryption) == 0 with input as s3_plain with data.strata as {"environment": null}
	ids := {f.id | some f in unknowns} with input as s3_plain with data.strata as {"environment": null}
	ids == {"STRATA-TF-004", "STRATA-TF-005"}
}

test_partial_backend_configuration_is_unknown if {
	inp := mock_backend("s3", {})
	count(deny_backend_encryption) == 0 with input as inp with data.strata as {"environment": "prod"}
	count(deny_backend_locking) == 0 with input as inp with data.strata as {"environment": "prod"}
	{f.id | some f in unknowns} == {"STRATA-TF-004", "STRATA-TF-005"} with input as inp with data.strata as {"environment": "prod"}
	count(unknowns) == 0 with input as inp with data.strata as {"environment": "dev"}
}

# STRATA-TF-005

test_unlocked_backends_outside_dev_denied if {
	fs := deny_backend_locking with input as {"terraform": [
		{"required_version": ">= 1.5"},
		{"backend": {"http": {"address": "https://state.example.com/network"}}},
	]} with data.strata as {"environment": "prod"}
	some f in fs
	f.id == "STRATA-TF-005"
	f.resource == "terraform.backend.http"
	f.msg == "the http backend has no state locking (set one of lock_address; environment prod)"
}

test_s3_lockfile_off_denied if {
	inp := mock_backend("s3", {"bucket": "b", "key": "k", "encrypt": true, "use_lockfile": false})
	count(deny_backend_locking) == 1 with input as inp with data.strata as {"environment": "staging"}
}

test_s3_dynamodb_lock_passes if {
	inp := mock_backend("s3", {"bucket": "b", "key": "k", "encrypt": true, "dynamodb_table": "locks"})
	count(deny_backend_locking) == 0 with input as inp with data.strata as {"environment": "prod"}
}
