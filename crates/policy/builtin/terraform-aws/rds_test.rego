package builtin.aws

import rego.v1

# STRATA-AWS-010

test_rds_storage_encryption_missing_denied if {
	fs := deny_rds_storage_encryption with input as {"resource": {"aws_db_instance": {"main": {"engine": "postgres"}}}}
	count(fs) == 1
	some f in fs
	f.id == "STRATA-AWS-010"
	f.checkov == "CKV_AWS_16"
	f.resource == "aws_db_instance.main"
}

test_rds_cluster_storage_encryption_false_denied if {
	fs := deny_rds_storage_encryption with input as {"resource": {"aws_rds_cluster": {"main": {"engine": "aurora-postgresql", "storage_encrypted": false}}}}
	some f in fs
	f.checkov == "CKV_AWS_96"
}

test_rds_storage_encrypted_passes if {
	count(deny_rds_storage_encryption) == 0 with input as {"resource": {
		"aws_db_instance": {"main": {"storage_encrypted": true}},
		"aws_rds_cluster": {"main": {"storage_encrypted": true, "cluster_identifier": "main"}},
	}}
}

test_rds_replica_and_serverless_v1_pass if {
	count(deny_rds_storage_encryption) == 0 with input as {"resource": {
		"aws_db_instance": {"replica": {"replicate_source_db": "${aws_db_instance.main.identifier}"}},
		"aws_rds_cluster": {"sls": {"engine_mode": "serverless"}},
	}}
}

test_rds_replica_only_by_a_variable_is_unknown_not_skipped if {
	# terraform-aws-modules/rds: `replicate_source_db = var.replicate_source_db`, null by default.
	inp := {"resource": {"aws_db_instance": {"this": {
		"engine": "postgres",
		"storage_encrypted": false,
		"replicate_source_db": "${var.replicate_source_db}",
	}}}}
	count(deny_rds_storage_encryption) == 0 with input as inp
	count(having(unknowns, "STRATA-AWS-010")) == 1 with input as inp
	count(deny_rds_iam_auth) == 1 with input as inp
	# Encrypted either way: nothing to say.
	enc := json.patch(inp, [{"op": "replace", "path": "/resource/aws_db_instance/this/storage_encrypted", "value": true}])
	count(having(unknowns, "STRATA-AWS-010")) == 0 with input as enc
	# A reference to another database is a replica whatever its value.
	ref := {"resource": {"aws_db_instance": {"r": {"replicate_source_db": "${aws_db_instance.main.identifier}", "engine": "postgres"}}}}
	count(having(unknowns, "STRATA-AWS-010")) == 0 with input as ref
	count(deny_rds_storage_encryption) == 0 with input as ref
	count(deny_rds_iam_auth) == 0 with input as ref
}

test_rds_storage_encryption_computed_is_unknown if {
	inp := {"resource": {"aws_db_instance": {"main": {"storage_encrypted": "${var.encrypted}"}}}}
	count(deny_rds_storage_encryption) == 0 with input as inp
	fs := having(unknowns, "STRATA-AWS-010") with input as inp
	some f in fs
	f.msg == "aws_db_instance.main: storage_encrypted is ${var.encrypted}, known only after apply"
}

# STRATA-AWS-011

test_rds_public_denied if {
	fs := deny_rds_public with input as {"resource": {"aws_rds_cluster_instance": {"one": {"publicly_accessible": true}}}}
	some f in fs
	f.id == "STRATA-AWS-011"
	f.severity == "critical"
	f.checkov == "CKV_AWS_17"
	f.resource == "aws_rds_cluster_instance.one"
}

test_rds_private_passes if {
	count(deny_rds_public) == 0 with input as {"resource": {"aws_db_instance": {
		"a": {"publicly_accessible": false},
		"b": {},
	}}}
}

test_rds_public_computed_is_unknown if {
	inp := {"resource": {"aws_db_instance": {"main": {"publicly_accessible": "${var.public}", "storage_encrypted": true}}}}
	count(deny_rds_public) == 0 with input as inp
	{f.id | some f in unknowns} == {"STRATA-AWS-011"} with input as inp
}

# STRATA-AWS-069, 070

test_rds_without_iam_auth_or_deletion_protection_denied if {
	inp := res("aws_db_instance", {"engine": "postgres", "storage_encrypted": true})
	ids(deny_rds_iam_auth) == {"CKV_AWS_161"} with input as inp
	ids(deny_rds_deletion_protection) == {"CKV_AWS_293"} with input as inp
	cluster := res("aws_rds_cluster", {"engine": "aurora-mysql", "storage_encrypted": true})
	ids(deny_rds_iam_auth) == {"CKV_AWS_162"} with input as cluster
	ids(deny_rds_deletion_protection) == {"CKV_AWS_139"} with input as cluster
}

test_rds_with_iam_auth_and_deletion_protection_passes if {
	inp := res("aws_db_instance", {"engine": "mysql", "iam_database_authentication_enabled": true, "deletion_protection": true})
	count(deny_rds_iam_auth) == 0 with input as inp
	count(deny_rds_deletion_protection) == 0 with input as inp
	# Engines without IAM authentication.
	count(deny_rds_iam_auth) == 0 with input as res("aws_db_instance", {"engine": "sqlserver-se"})
}
