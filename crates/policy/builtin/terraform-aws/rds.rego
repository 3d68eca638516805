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

# A read replica: `replicate_source_db` names its source, literally or as a reference to
# another database resource (never null).
replica(body) if {
	source := body.replicate_source_db
	is_string(source)
	source != ""
	not computed(source)
}

replica(body) if regex.match(`^\$\{(data\.)?aws_(db_instance|rds_cluster)[a-z_]*\.[^}]*\}$`, body.replicate_source_db)

# A database that is a replica only if a value known at plan time says so (a module's
# `replicate_source_db = var.replicate_source_db`, null by default).
maybe_replica(body) if {
	computed(body.replicate_source_db)
	not replica(body)
}

# Databases whose encryption is decided elsewhere: read replicas inherit it from their
# source, and Aurora Serverless v1 is always encrypted.
encryption_inherited(body) if replica(body)

encryption_inherited(body) if body.engine_mode == "serverless"

deny_rds_storage_encryption contains f if {
	some type, checkov in rds_encryption_checkov
	some [name, db] in resources(type)
	not encryption_inherited(db)
	not maybe_replica(db)
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
	maybe_replica(db)
	value := object.get(db, "storage_encrypted", false)
	not enabled(value)
	f := finding(
		object.union(rds_storage_encryption, {"checkov": checkov}),
		sprintf("%s.%s", [type, name]),
		sprintf("%s.%s: storage_encrypted is not true, and whether it is a replica (which inherits its source's encryption) is known only at plan time: replicate_source_db is %s", [type, name, db.replicate_source_db]),
	)
}

unknown_rds_storage_encryption contains f if {
	some type, checkov in rds_encryption_checkov
	some [name, db] in resources(type)
	not encryption_inherited(db)
	not maybe_replica(db)
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

# ---------------------------------------------------------------------------------------
# STRATA-AWS-069: database users authenticated by password only.

rds_iam_auth := {
	"id": "STRATA-AWS-069",
	"severity": "low",
	"title": "RDS database without IAM authentication",
	"remediation": "Set iam_database_authentication_enabled = true and let applications connect with IAM tokens instead of long-lived passwords.",
	"checkov_ids": ["CKV_AWS_161", "CKV_AWS_162"],
}

iam_auth_checkov := {"aws_db_instance": "CKV_AWS_161", "aws_rds_cluster": "CKV_AWS_162"}

# Only MySQL and PostgreSQL engines (and their Aurora versions) support IAM authentication.
iam_auth_engine(db) if regex.match(`^(aurora-)?(mysql|postgres|mariadb)|^aurora$`, object.get(db, "engine", "aurora"))

deny_rds_iam_auth contains f if {
	some type, checkov in iam_auth_checkov
	some [name, db] in resources(type)
	iam_auth_engine(db)
	not replica(db)
	flag(db, ["iam_database_authentication_enabled"], false) == "off"
	f := finding(object.union(rds_iam_auth, {"checkov": checkov}), addr(type, name), sprintf("%s.%s does not set iam_database_authentication_enabled = true", [type, name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-070: a database that one destroy removes.

rds_deletion_protection := {
	"id": "STRATA-AWS-070",
	"severity": "low",
	"title": "RDS database without deletion protection",
	"remediation": "Set deletion_protection = true (turn it off in the change that is meant to delete the database).",
	"checkov_ids": ["CKV_AWS_293", "CKV_AWS_139"],
}

deletion_checkov := {"aws_db_instance": "CKV_AWS_293", "aws_rds_cluster": "CKV_AWS_139"}

deny_rds_deletion_protection contains f if {
	some type, checkov in deletion_checkov
	some [name, db] in resources(type)
	flag(db, ["deletion_protection"], false) == "off"
	f := finding(object.union(rds_deletion_protection, {"checkov": checkov}), addr(type, name), sprintf("%s.%s does not set deletion_protection = true", [type, name]))
}
