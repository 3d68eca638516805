# S3 buckets: encryption, public access, versioning and access logs.
#
# The input is a module (every .tf file of a directory), so a bucket's companion resources
# (aws_s3_bucket_versioning, aws_s3_bucket_public_access_block, ...) count wherever they
# sit in the module, when they name the bucket (by reference or by its literal name). A
# companion whose bucket comes from a variable makes the check unknown.
package builtin.aws

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AWS-001: no server-side encryption configuration for the bucket.

s3_encryption := {
	"id": "STRATA-AWS-001",
	"severity": "medium",
	"title": "S3 bucket without a server-side encryption configuration",
	"remediation": "Add an aws_s3_bucket_server_side_encryption_configuration for the bucket, preferably with sse_algorithm \"aws:kms\" and a customer managed key.",
	"checkov": "CKV_AWS_19",
}

deny_s3_encryption contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	not bucket.server_side_encryption_configuration
	count(companions("aws_s3_bucket_server_side_encryption_configuration", name, bucket)) == 0
	not unresolved_companion("aws_s3_bucket_server_side_encryption_configuration")
	f := finding(
		s3_encryption,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s has no server-side encryption configuration in this module", [name]),
	)
}

unknown_s3_encryption contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	not bucket.server_side_encryption_configuration
	count(companions("aws_s3_bucket_server_side_encryption_configuration", name, bucket)) == 0
	unresolved_companion("aws_s3_bucket_server_side_encryption_configuration")
	f := finding(
		s3_encryption,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s: an encryption configuration in this module names its bucket only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-002: a canned ACL or grant that opens the bucket to everyone.

s3_public_acl := {
	"id": "STRATA-AWS-002",
	"severity": "high",
	"title": "S3 bucket with a public ACL",
	"remediation": "Use acl = \"private\" (or drop ACLs with object_ownership = \"BucketOwnerEnforced\") and grant access with bucket policies for named principals.",
	"checkov": "CKV_AWS_20",
	"checkov_ids": ["CKV_AWS_20", "CKV_AWS_57"],
}

public_canned_acls := {"public-read", "public-read-write", "authenticated-read"}

public_grantees := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

# Every ACL attribute: [resource address, acl value].
s3_acls contains [sprintf("%s.%s", [type, name]), body.acl] if {
	some type in ["aws_s3_bucket", "aws_s3_bucket_acl"]
	some [name, body] in resources(type)
	body.acl
}

# public-read-write is Checkov's write check; the others its read check.
acl_checkov(acl) := "CKV_AWS_57" if acl == "public-read-write"

acl_checkov(acl) := "CKV_AWS_20" if acl != "public-read-write"

deny_s3_public_acl contains f if {
	some [address, acl] in s3_acls
	acl in public_canned_acls
	f := finding(
		object.union(s3_public_acl, {"checkov": acl_checkov(acl)}),
		address,
		sprintf("%s has the public canned ACL %q", [address, acl]),
	)
}

deny_s3_public_acl contains f if {
	some [name, body] in resources("aws_s3_bucket_acl")
	some policy in blocks(object.get(body, "access_control_policy", []))
	some grant in blocks(object.get(policy, "grant", []))
	some grantee in blocks(object.get(grant, "grantee", []))
	grantee.uri in public_grantees
	f := finding(
		s3_public_acl,
		sprintf("aws_s3_bucket_acl.%s", [name]),
		sprintf("aws_s3_bucket_acl.%s grants %s to %s", [name, object.get(grant, "permission", "access"), grantee.uri]),
	)
}

unknown_s3_public_acl contains f if {
	some [address, acl] in s3_acls
	computed(acl)
	f := finding(s3_public_acl, address, sprintf("%s: acl is %s, known only after apply", [address, acl]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-003: a public access block that leaves one of its four switches off.

s3_public_access_block := {
	"id": "STRATA-AWS-003",
	"severity": "high",
	"title": "S3 public access block not fully enabled",
	"remediation": "Set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to true.",
	"checkov_ids": ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
}

public_access_switches := {
	"block_public_acls": "CKV_AWS_53",
	"block_public_policy": "CKV_AWS_54",
	"ignore_public_acls": "CKV_AWS_55",
	"restrict_public_buckets": "CKV_AWS_56",
}

deny_s3_public_access_block contains f if {
	some type in ["aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"]
	some [name, body] in resources(type)
	some switch, checkov in public_access_switches
	value := object.get(body, switch, false)
	not enabled(value)
	not computed(value)
	f := finding(
		object.union(s3_public_access_block, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s does not set %s = true", [type, name, switch]),
	)
}

unknown_s3_public_access_block contains f if {
	some type in ["aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"]
	some [name, body] in resources(type)
	some switch, checkov in public_access_switches
	computed(body[switch])
	f := finding(
		object.union(s3_public_access_block, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: %s is %s, known only after apply", [type, name, switch, body[switch]]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-004: a bucket with no public access block at all.

s3_missing_public_access_block := {
	"id": "STRATA-AWS-004",
	"severity": "medium",
	"title": "S3 bucket without a public access block",
	"remediation": "Add an aws_s3_bucket_public_access_block for the bucket with all four switches true.",
	"checkov": "CKV2_AWS_6",
}

deny_s3_missing_public_access_block contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	count(companions("aws_s3_bucket_public_access_block", name, bucket)) == 0
	not unresolved_companion("aws_s3_bucket_public_access_block")
	f := finding(
		s3_missing_public_access_block,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s has no aws_s3_bucket_public_access_block in this module", [name]),
	)
}

unknown_s3_missing_public_access_block contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	count(companions("aws_s3_bucket_public_access_block", name, bucket)) == 0
	unresolved_companion("aws_s3_bucket_public_access_block")
	f := finding(
		s3_missing_public_access_block,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s: a public access block in this module names its bucket only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-005: versioning not enabled.

s3_versioning := {
	"id": "STRATA-AWS-005",
	"severity": "medium",
	"title": "S3 bucket without versioning",
	"remediation": "Add an aws_s3_bucket_versioning for the bucket with versioning_configuration { status = \"Enabled\" }.",
	"checkov": "CKV_AWS_21",
}

# An inline versioning block: "enabled", or "computed" when known only after apply.
inline_versioning(bucket) := "enabled" if {
	some v in blocks(bucket.versioning)
	enabled(v.enabled)
}

inline_versioning(bucket) := "computed" if {
	some v in blocks(bucket.versioning)
	computed(v.enabled)
}

versioning_status(body) := status if {
	some c in blocks(body.versioning_configuration)
	status := c.status
}

deny_s3_versioning contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	not inline_versioning(bucket)
	count(companions("aws_s3_bucket_versioning", name, bucket)) == 0
	not unresolved_companion("aws_s3_bucket_versioning")
	f := finding(
		s3_versioning,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s has no versioning configuration in this module", [name]),
	)
}

deny_s3_versioning contains f if {
	some [name, body] in resources("aws_s3_bucket_versioning")
	status := versioning_status(body)
	status != "Enabled"
	not computed(status)
	f := finding(
		s3_versioning,
		sprintf("aws_s3_bucket_versioning.%s", [name]),
		sprintf("aws_s3_bucket_versioning.%s has status %q", [name, status]),
	)
}

unknown_s3_versioning contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	not inline_versioning(bucket)
	count(companions("aws_s3_bucket_versioning", name, bucket)) == 0
	unresolved_companion("aws_s3_bucket_versioning")
	f := finding(
		s3_versioning,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s: a versioning configuration in this module names its bucket only after apply", [name]),
	)
}

unknown_s3_versioning contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	inline_versioning(bucket) == "computed"
	f := finding(
		s3_versioning,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s: versioning.enabled is known only after apply", [name]),
	)
}

unknown_s3_versioning contains f if {
	some [name, body] in resources("aws_s3_bucket_versioning")
	computed(versioning_status(body))
	f := finding(
		s3_versioning,
		sprintf("aws_s3_bucket_versioning.%s", [name]),
		sprintf("aws_s3_bucket_versioning.%s: status is known only after apply", [name]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-006: no server access logging.

s3_access_logging := {
	"id": "STRATA-AWS-006",
	"severity": "low",
	"title": "S3 bucket without access logging",
	"remediation": "Add an aws_s3_bucket_logging for the bucket with a target_bucket that collects access logs (a log bucket itself can be excepted).",
	"checkov": "CKV_AWS_18",
}

deny_s3_access_logging contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	not bucket.logging
	count(companions("aws_s3_bucket_logging", name, bucket)) == 0
	not unresolved_companion("aws_s3_bucket_logging")
	f := finding(
		s3_access_logging,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s has no access logging configured in this module", [name]),
	)
}

unknown_s3_access_logging contains f if {
	some [name, bucket] in resources("aws_s3_bucket")
	not bucket.logging
	count(companions("aws_s3_bucket_logging", name, bucket)) == 0
	unresolved_companion("aws_s3_bucket_logging")
	f := finding(
		s3_access_logging,
		sprintf("aws_s3_bucket.%s", [name]),
		sprintf("aws_s3_bucket.%s: a logging configuration in this module names its bucket only after apply", [name]),
	)
}
