# RDS: encryption at rest and public reachability.
package builtin.aws

import rego.v1

# ---------------------------------------------------------------------------------------
# STRATA-AWS-010: database storage not encrypted.

rds_storage_encryption := {
	"id": "STRATA-AWS-010",
	"severity": "high",
	"title": "RDS storage not encrypted at rest",
	"remediation": "Set storage_encrypted = true (with kms_key_id for a customer managed key). An existing database has to be restored from an encrypted snapshot.",
	"checkov_ids": ["CKV_AWS_16", "CKV_AWS_96"],
}

rds_encryption_checkov := {"aws_db_instance": "CKV_AWS_16", "aws_rds_cluster": "CKV_AWS_96"}

# Databases whose encryption is decided elsewhere: read replicas inherit it from their
# source, and Aurora Serverless v1 is always encrypted.
encryption_inherited(body) if body.replicate_source_db

encryption_inherited(body) if body.engine_mode == "serverless"

deny_rds_storage_encryption contains f if {
	some type, checkov in rds_encryption_checkov
	some [name, db] in resources(type)
	not encryption_inherited(db)
	value := object.get(db, "storage_encrypted", false)
	not enabled(value)
	not computed(value)
	f := finding(
		object.union(rds_storage_encryption, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s does not set storage_encrypted = true", [type, name]),
	)
}

unknown_rds_storage_encryption contains f if {
	some type, checkov in rds_encryption_checkov
	some [name, db] in resources(type)
	not encryption_inherited(db)
	computed(db.storage_encrypted)
	f := finding(
		object.union(rds_storage_encryption, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: storage_encrypted is %s, known only after apply", [type, name, db.storage_encrypted]),
	)
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-011: database reachable from the internet.

rds_public := {
	"id": "STRATA-AWS-011",
	"severity": "critical",
	"title": "RDS instance publicly accessible",
	"remediation": "Set publicly_accessible = false and reach the database from inside the VPC (VPN, bastion, RDS Proxy).",
	"checkov": "CKV_AWS_17",
}

deny_rds_public contains f if {
	some type in ["aws_db_instance", "aws_rds_cluster_instance"]
	some [name, db] in resources(type)
	enabled(db.publicly_accessible)
	f := finding(rds_public, sprintf("%s.%s", [type, name]), sprintf("%s.%s sets publicly_accessible = true", [type, name]))
}

unknown_rds_public contains f if {
	some type in ["aws_db_instance", "aws_rds_cluster_instance"]
	some [name, db] in resources(type)
	computed(db.publicly_accessible)
	f := finding(
		rds_public,
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: publicly_accessible is %s, known only after apply", [type, name, db.publicly_accessible]),
	)
}
