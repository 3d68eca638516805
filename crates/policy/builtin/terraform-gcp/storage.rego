# Cloud Storage buckets: access control, public exposure, versioning, logs, CMEK.
package builtin.gcp

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-GCP-001: fine-grained (per-object ACL) access instead of uniform access.

gcs_uniform_access := {
	"id": "STRATA-GCP-001",
	"severity": "medium",
	"title": "Cloud Storage bucket without uniform bucket-level access",
	"remediation": "Set uniform_bucket_level_access = true so that only IAM governs access to the bucket's objects.",
	"checkov": "CKV_GCP_29",
}

deny_gcs_uniform_access contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	value := object.get(bucket, "uniform_bucket_level_access", false)
	not enabled(value)
	not computed(value)
	f := finding(
		gcs_uniform_access,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s does not set uniform_bucket_level_access = true", [name]),
	)
}

unknown_gcs_uniform_access contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	computed(bucket.uniform_bucket_level_access)
	f := finding(
		gcs_uniform_access,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s: uniform_bucket_level_access is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-002: public access prevention not enforced.

gcs_public_access_prevention := {
	"id": "STRATA-GCP-002",
	"severity": "medium",
	"title": "Cloud Storage bucket without enforced public access prevention",
	"remediation": "Set public_access_prevention = \"enforced\" so that no IAM binding or ACL can make the bucket public.",
	"checkov": "CKV_GCP_114",
}

deny_gcs_public_access_prevention contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	value := object.get(bucket, "public_access_prevention", "inherited")
	value != "enforced"
	not computed(value)
	f := finding(
		gcs_public_access_prevention,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s has public_access_prevention %q, not \"enforced\"", [name, value]),
	)
}

unknown_gcs_public_access_prevention contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	computed(bucket.public_access_prevention)
	f := finding(
		gcs_public_access_prevention,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s: public_access_prevention is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-003: a bucket IAM grant or ACL for allUsers / allAuthenticatedUsers.

gcs_public_iam := {
	"id": "STRATA-GCP-003",
	"severity": "critical",
	"title": "Cloud Storage bucket readable by everyone",
	"remediation": "Grant bucket roles to named users, groups or service accounts, never to allUsers or allAuthenticatedUsers; serve public content through a CDN or signed URLs.",
	"checkov": "CKV_GCP_28",
}

public_members := {"allUsers", "allAuthenticatedUsers"}

# [resource address, member] for every principal a bucket grant names.
bucket_grantees contains [sprintf("google_storage_bucket_iam_member.%s", [name]), body.member] if {
	some [name, body] in resources("google_storage_bucket_iam_member")
}

bucket_grantees contains [sprintf("google_storage_bucket_iam_binding.%s", [name]), member] if {
	some [name, body] in resources("google_storage_bucket_iam_binding")
	some member in body.members
}

bucket_grantees contains [sprintf("%s.%s", [type, name]), body.entity] if {
	some type in ["google_storage_bucket_access_control", "google_storage_default_object_access_control"]
	some [name, body] in resources(type)
}

bucket_grantees contains [sprintf("google_storage_bucket_acl.%s", [name]), entity] if {
	some [name, body] in resources("google_storage_bucket_acl")
	some role_entity in body.role_entity
	parts := split(role_entity, ":")
	entity := parts[count(parts) - 1]
}

deny_gcs_public_iam contains f if {
	some [address, member] in bucket_grantees
	member in public_members
	f := finding(gcs_public_iam, address, sprintf("%s grants access to %s", [address, member]))
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-004: object versioning off.

gcs_versioning := {
	"id": "STRATA-GCP-004",
	"severity": "medium",
	"title": "Cloud Storage bucket without object versioning",
	"remediation": "Add versioning { enabled = true } (with lifecycle rules to expire old versions), or a retention policy.",
	"checkov": "CKV_GCP_78",
}

versioning_on(bucket) if {
	some v in blocks(bucket.versioning)
	enabled(v.enabled)
}

versioning_computed(bucket) if {
	some v in blocks(bucket.versioning)
	computed(v.enabled)
}

deny_gcs_versioning contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	not versioning_on(bucket)
	not versioning_computed(bucket)
	f := finding(
		gcs_versioning,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s does not enable object versioning", [name]),
	)
}

unknown_gcs_versioning contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	versioning_computed(bucket)
	f := finding(
		gcs_versioning,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s: versioning.enabled is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-005: no usage/access logs.

gcs_access_logging := {
	"id": "STRATA-GCP-005",
	"severity": "low",
	"title": "Cloud Storage bucket without access logging",
	"remediation": "Add logging { log_bucket = ... } pointing at a separate log bucket, or rely on Data Access audit logs and except the rule.",
	"checkov": "CKV_GCP_62",
}

deny_gcs_access_logging contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	not has_log_bucket(bucket)
	f := finding(
		gcs_access_logging,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s has no logging block with a log_bucket", [name]),
	)
}

has_log_bucket(bucket) if {
	some l in blocks(bucket.logging)
	l.log_bucket
}

# ---------------------------------------------------------------------------------------
# STRATA-GCP-006: encrypted with a Google-managed key rather than a customer key (CMEK).

gcs_cmek := {
	"id": "STRATA-GCP-006",
	"severity": "low",
	"title": "Cloud Storage bucket without a customer-managed encryption key",
	"remediation": "Add encryption { default_kms_key_name = google_kms_crypto_key.<key>.id } and grant the Cloud Storage service agent encrypter/decrypter on that key.",
}

deny_gcs_cmek contains f if {
	some [name, bucket] in resources("google_storage_bucket")
	not has_cmek(bucket)
	f := finding(
		gcs_cmek,
		sprintf("google_storage_bucket.%s", [name]),
		sprintf("google_storage_bucket.%s has no encryption.default_kms_key_name", [name]),
	)
}

has_cmek(bucket) if {
	some e in blocks(bucket.encryption)
	e.default_kms_key_name
}
