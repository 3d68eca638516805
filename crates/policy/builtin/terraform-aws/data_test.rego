package builtin.aws

import rego.v1

# STRATA-AWS-051, 052

test_sns_topic_without_key_denied if {
	ids(deny_sns_encryption) == {"CKV_AWS_26"} with input as res("aws_sns_topic", {"name": "alerts"})
	count(deny_sns_encryption) == 0 with input as res("aws_sns_topic", {"kms_master_key_id": "alias/aws/sns"})
}

test_sqs_queue_with_encryption_off_denied if {
	ids(deny_sqs_encryption) == {"CKV_AWS_27"} with input as res("aws_sqs_queue", {"sqs_managed_sse_enabled": false})
}

test_sqs_queue_default_or_kms_passes if {
	count(deny_sqs_encryption) == 0 with input as res("aws_sqs_queue", {"name": "jobs"})
	count(deny_sqs_encryption) == 0 with input as res("aws_sqs_queue", {"kms_master_key_id": "alias/aws/sqs", "sqs_managed_sse_enabled": false})
}

# STRATA-AWS-053, 054

test_dynamodb_defaults_denied if {
	inp := res("aws_dynamodb_table", {"hash_key": "id"})
	ids(deny_dynamodb_pitr) == {"CKV_AWS_28"} with input as inp
	ids(deny_dynamodb_cmk) == {"CKV_AWS_119"} with input as inp
	count(deny_dynamodb_cmk) == 1 with input as res("aws_dynamodb_table", {"server_side_encryption": {"enabled": true}})
}

test_dynamodb_hardened_passes if {
	inp := res("aws_dynamodb_table", {
		"point_in_time_recovery": {"enabled": true},
		"server_side_encryption": {"enabled": true, "kms_key_arn": "${aws_kms_key.t.arn}"},
	})
	count(deny_dynamodb_pitr) == 0 with input as inp
	count(deny_dynamodb_cmk) == 0 with input as inp
}

# STRATA-AWS-055 .. 057

test_redshift_defaults_denied if {
	inp := res("aws_redshift_cluster", {"cluster_identifier": "dw"})
	ids(deny_redshift_encryption) == {"CKV_AWS_64"} with input as inp
	ids(deny_redshift_public) == {"CKV_AWS_87"} with input as inp
	ids(deny_redshift_logging) == {"CKV_AWS_71"} with input as inp
}

test_redshift_hardened_passes if {
	inp := {"resource": {
		"aws_redshift_cluster": {"dw": {"cluster_identifier": "dw", "encrypted": true, "publicly_accessible": false}},
		"aws_redshift_logging": {"dw": {"cluster_identifier": "${aws_redshift_cluster.dw.id}", "log_destination_type": "cloudwatch"}},
	}}
	count(deny_redshift_encryption) == 0 with input as inp
	count(deny_redshift_public) == 0 with input as inp
	count(deny_redshift_logging) == 0 with input as inp
	count(deny_redshift_logging) == 0 with input as res("aws_redshift_cluster", {"logging": {"enable": true}})
}

test_redshift_computed_settings_are_unknown if {
	inp := res("aws_redshift_cluster", {"encrypted": "${var.e}", "publicly_accessible": "${var.p}", "logging": {"enable": true}})
	count(unknown_redshift_encryption) == 1 with input as inp
	count(unknown_redshift_public) == 1 with input as inp
	count(deny_redshift_public) == 0 with input as inp
}

# STRATA-AWS-058 .. 062

test_search_domain_defaults_denied if {
	inp := res("aws_opensearch_domain", {"engine_version": "OpenSearch_2.11", "cluster_config": {"instance_count": 3}})
	count(deny_opensearch_node_to_node) == 0 with input as res("aws_opensearch_domain", {"engine_version": "OpenSearch_2.11"})
	ids(deny_opensearch_encryption_at_rest) == {"CKV_AWS_5"} with input as inp
	ids(deny_opensearch_node_to_node) == {"CKV_AWS_6"} with input as inp
	ids(deny_opensearch_https) == {"CKV_AWS_83"} with input as inp
	ids(deny_opensearch_logging) == {"CKV_AWS_84"} with input as inp
	ids(deny_opensearch_in_vpc) == {"CKV_AWS_137"} with input as inp
	count(deny_opensearch_https) == 1 with input as res("aws_elasticsearch_domain", {"domain_endpoint_options": {"enforce_https": false}})
}

test_search_domain_hardened_passes if {
	inp := res("aws_elasticsearch_domain", {
		"encrypt_at_rest": {"enabled": true},
		"node_to_node_encryption": {"enabled": true},
		"domain_endpoint_options": {"tls_security_policy": "Policy-Min-TLS-1-2-2019-07"},
		"log_publishing_options": [{"log_type": "AUDIT_LOGS", "cloudwatch_log_group_arn": "arn"}],
		"vpc_options": {"subnet_ids": ["${aws_subnet.a.id}"]},
	})
	count(deny_opensearch_encryption_at_rest) == 0 with input as inp
	count(deny_opensearch_node_to_node) == 0 with input as inp
	count(deny_opensearch_https) == 0 with input as inp
	count(deny_opensearch_logging) == 0 with input as inp
	count(deny_opensearch_in_vpc) == 0 with input as inp
}

# STRATA-AWS-063, 064

test_elasticache_unencrypted_denied if {
	inp := res("aws_elasticache_replication_group", {"engine": "redis"})
	ids(deny_elasticache_at_rest) == {"CKV_AWS_29"} with input as inp
	ids(deny_elasticache_in_transit) == {"CKV_AWS_30"} with input as inp
}

test_elasticache_encrypted_passes if {
	inp := res("aws_elasticache_replication_group", {"at_rest_encryption_enabled": true, "transit_encryption_enabled": "true"})
	count(deny_elasticache_at_rest) == 0 with input as inp
	count(deny_elasticache_in_transit) == 0 with input as inp
	count(unknown_elasticache_in_transit) == 1 with input as res("aws_elasticache_replication_group", {"transit_encryption_enabled": "${var.tls}"})
}

# STRATA-AWS-065 .. 068

test_unencrypted_stores_denied if {
	ids(deny_efs_encryption) == {"CKV_AWS_42"} with input as res("aws_efs_file_system", {})
	ids(deny_kinesis_encryption) == {"CKV_AWS_43"} with input as res("aws_kinesis_stream", {"shard_count": 1})
	ids(deny_secretsmanager_cmk) == {"CKV_AWS_149"} with input as res("aws_secretsmanager_secret", {"name": "db"})
	ids(deny_docdb_encryption) == {"CKV_AWS_74"} with input as res("aws_docdb_cluster", {"storage_encrypted": false})
}

test_encrypted_stores_pass if {
	count(deny_efs_encryption) == 0 with input as res("aws_efs_file_system", {"encrypted": true})
	count(deny_kinesis_encryption) == 0 with input as res("aws_kinesis_stream", {"encryption_type": "KMS", "kms_key_id": "alias/aws/kinesis"})
	count(deny_secretsmanager_cmk) == 0 with input as res("aws_secretsmanager_secret", {"kms_key_id": "${aws_kms_key.s.arn}"})
	count(deny_docdb_encryption) == 0 with input as res("aws_docdb_cluster", {"storage_encrypted": true})
	count(unknown_efs_encryption) == 1 with input as res("aws_efs_file_system", {"encrypted": "${var.e}"})
	count(unknown_docdb_encryption) == 1 with input as res("aws_docdb_cluster", {"storage_encrypted": "${var.e}"})
	count(unknown_elasticache_at_rest) == 1 with input as res("aws_elasticache_replication_group", {"at_rest_encryption_enabled": "${var.e}"})
}
