# Data services: encryption, exposure, backups and logs of SNS, SQS, DynamoDB, Redshift,
# OpenSearch (and Elasticsearch), ElastiCache, EFS, Kinesis, Secrets Manager and DocumentDB.
package builtin.aws

import rego.v1

# An "encrypted" style setting that must be true (unset is the provider's `unset`).
required_on(meta, type, attribute, unset) := {f |
	some [name, body] in resources(type)
	flag(body, [attribute], unset) == "off"
	f := finding(meta, addr(type, name), sprintf("%s.%s does not set %s = true", [type, name, attribute]))
}

required_on_unknown(meta, type, attribute, unset) := {f |
	some [name, body] in resources(type)
	flag(body, [attribute], unset) == "computed"
	f := finding(meta, addr(type, name), sprintf("%s.%s: %s is known only after apply", [type, name, attribute]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-051: an SNS topic without encryption at rest.

sns_encryption := {
	"id": "STRATA-AWS-051",
	"severity": "medium",
	"title": "SNS topic not encrypted",
	"remediation": "Set kms_master_key_id (alias/aws/sns, or a customer managed key that the publishers may use).",
	"checkov": "CKV_AWS_26",
}

deny_sns_encryption contains f if {
	some [name, body] in resources("aws_sns_topic")
	not body.kms_master_key_id
	f := finding(sns_encryption, addr("aws_sns_topic", name), sprintf("aws_sns_topic.%s has no kms_master_key_id", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-052: an SQS queue with server-side encryption turned off. A queue that names
# no KMS key gets SQS-managed encryption unless it turns it off.

sqs_encryption := {
	"id": "STRATA-AWS-052",
	"severity": "medium",
	"title": "SQS queue not encrypted",
	"remediation": "Remove sqs_managed_sse_enabled = false, or set kms_master_key_id to a KMS key.",
	"checkov": "CKV_AWS_27",
}

deny_sqs_encryption contains f if {
	some [name, body] in resources("aws_sqs_queue")
	not body.kms_master_key_id
	flag(body, ["sqs_managed_sse_enabled"], true) == "off"
	f := finding(sqs_encryption, addr("aws_sqs_queue", name), sprintf("aws_sqs_queue.%s turns encryption off (sqs_managed_sse_enabled = false, no kms_master_key_id)", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-053: a DynamoDB table without point-in-time recovery.

dynamodb_pitr := {
	"id": "STRATA-AWS-053",
	"severity": "medium",
	"title": "DynamoDB table without point-in-time recovery",
	"remediation": "Add point_in_time_recovery { enabled = true }.",
	"checkov": "CKV_AWS_28",
}

deny_dynamodb_pitr contains f if {
	some [name, body] in resources("aws_dynamodb_table")
	flag(first(body, "point_in_time_recovery"), ["enabled"], false) == "off"
	f := finding(dynamodb_pitr, addr("aws_dynamodb_table", name), sprintf("aws_dynamodb_table.%s does not enable point_in_time_recovery", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-054: a DynamoDB table encrypted with an AWS owned key.

dynamodb_cmk := {
	"id": "STRATA-AWS-054",
	"severity": "low",
	"title": "DynamoDB table not encrypted with a customer managed key",
	"remediation": "Add server_side_encryption { enabled = true, kms_key_arn = aws_kms_key.<name>.arn }.",
	"checkov": "CKV_AWS_119",
}

deny_dynamodb_cmk contains f if {
	some [name, body] in resources("aws_dynamodb_table")
	sse := first(body, "server_side_encryption")
	not cmk_encrypted(sse)
	f := finding(dynamodb_cmk, addr("aws_dynamodb_table", name), sprintf("aws_dynamodb_table.%s is encrypted with an AWS owned key (no server_side_encryption with kms_key_arn)", [name]))
}

cmk_encrypted(sse) if {
	flag(sse, ["enabled"], false) != "off"
	sse.kms_key_arn
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-055 .. 057: Redshift clusters.

redshift_encryption := {
	"id": "STRATA-AWS-055",
	"severity": "high",
	"title": "Redshift cluster not encrypted at rest",
	"remediation": "Set encrypted = true (with kms_key_id for a customer managed key).",
	"checkov": "CKV_AWS_64",
}

deny_redshift_encryption contains f if some f in required_on(redshift_encryption, "aws_redshift_cluster", "encrypted", false)

unknown_redshift_encryption contains f if some f in required_on_unknown(redshift_encryption, "aws_redshift_cluster", "encrypted", false)

redshift_public := {
	"id": "STRATA-AWS-056",
	"severity": "critical",
	"title": "Redshift cluster publicly accessible",
	"remediation": "Set publicly_accessible = false (older providers default to true) and reach the cluster from inside the VPC.",
	"checkov": "CKV_AWS_87",
}

deny_redshift_public contains f if {
	some [name, body] in resources("aws_redshift_cluster")
	flag(body, ["publicly_accessible"], true) == "on"
	f := finding(redshift_public, addr("aws_redshift_cluster", name), sprintf("aws_redshift_cluster.%s is publicly accessible (publicly_accessible is not false)", [name]))
}

unknown_redshift_public contains f if {
	some [name, body] in resources("aws_redshift_cluster")
	flag(body, ["publicly_accessible"], true) == "computed"
	f := finding(redshift_public, addr("aws_redshift_cluster", name), sprintf("aws_redshift_cluster.%s: publicly_accessible is known only after apply", [name]))
}

redshift_logging := {
	"id": "STRATA-AWS-057",
	"severity": "low",
	"title": "Redshift cluster without audit logging",
	"remediation": "Add an aws_redshift_logging for the cluster (or logging { enable = true } on older providers).",
	"checkov": "CKV_AWS_71",
}

redshift_logged(name, body) if flag(first(body, "logging"), ["enable"], false) == "on"

redshift_logged(name, _) if {
	some [_, logging] in resources("aws_redshift_logging")
	is_string(logging.cluster_identifier)
	contains(logging.cluster_identifier, sprintf("aws_redshift_cluster.%s.", [name]))
}

redshift_logged(_, body) if {
	some [_, logging] in resources("aws_redshift_logging")
	logging.cluster_identifier == body.cluster_identifier
}

deny_redshift_logging contains f if {
	some [name, body] in resources("aws_redshift_cluster")
	not redshift_logged(name, body)
	f := finding(redshift_logging, addr("aws_redshift_cluster", name), sprintf("aws_redshift_cluster.%s has no audit logging in this module", [name]))
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-058 .. 062: OpenSearch and Elasticsearch domains.

search_domain_types := ["aws_opensearch_domain", "aws_elasticsearch_domain"]

search_finding(meta, type, name, msg) := finding(meta, addr(type, name), sprintf("%s.%s %s", [type, name, msg]))

opensearch_encryption_at_rest := {
	"id": "STRATA-AWS-058",
	"severity": "high",
	"title": "OpenSearch domain not encrypted at rest",
	"remediation": "Add encrypt_at_rest { enabled = true } (with kms_key_id for a customer managed key).",
	"checkov": "CKV_AWS_5",
}

deny_opensearch_encryption_at_rest contains f if {
	some type in search_domain_types
	some [name, body] in resources(type)
	flag(first(body, "encrypt_at_rest"), ["enabled"], false) == "off"
	f := search_finding(opensearch_encryption_at_rest, type, name, "does not enable encrypt_at_rest")
}

opensearch_node_to_node := {
	"id": "STRATA-AWS-059",
	"severity": "medium",
	"title": "OpenSearch domain without node-to-node encryption",
	"remediation": "Add node_to_node_encryption { enabled = true }.",
	"checkov": "CKV_AWS_6",
}

# A single-node domain has no traffic between nodes.
multi_node(body) if number(object.get(first(body, "cluster_config"), "instance_count", 1)) > 1

multi_node(body) if computed(object.get(first(body, "cluster_config"), "instance_count", 1))

deny_opensearch_node_to_node contains f if {
	some type in search_domain_types
	some [name, body] in resources(type)
	multi_node(body)
	flag(first(body, "node_to_node_encryption"), ["enabled"], false) == "off"
	f := search_finding(opensearch_node_to_node, type, name, "does not enable node_to_node_encryption")
}

opensearch_https := {
	"id": "STRATA-AWS-060",
	"severity": "high",
	"title": "OpenSearch domain accepts plain HTTP",
	"remediation": "Add domain_endpoint_options { enforce_https = true, tls_security_policy = \"Policy-Min-TLS-1-2-2019-07\" }.",
	"checkov": "CKV_AWS_83",
}

# Without domain_endpoint_options the service accepts HTTP; inside the block the provider
# defaults enforce_https to true.
deny_opensearch_https contains f if {
	some type in search_domain_types
	some [name, body] in resources(type)
	not has_block(body, "domain_endpoint_options")
	f := search_finding(opensearch_https, type, name, "has no domain_endpoint_options, so it accepts plain HTTP")
}

deny_opensearch_https contains f if {
	some type in search_domain_types
	some [name, body] in resources(type)
	has_block(body, "domain_endpoint_options")
	flag(first(body, "domain_endpoint_options"), ["enforce_https"], true) == "off"
	f := search_finding(opensearch_https, type, name, "sets enforce_https = false")
}

opensearch_logging := {
	"id": "STRATA-AWS-061",
	"severity": "low",
	"title": "OpenSearch domain without log publishing",
	"remediation": "Add log_publishing_options blocks (INDEX_SLOW_LOGS, SEARCH_SLOW_LOGS, ES_APPLICATION_LOGS, AUDIT_LOGS) with a CloudWatch log group.",
	"checkov": "CKV_AWS_84",
}

publishes_logs(body) if {
	some option in blocks(object.get(body, "log_publishing_options", []))
	flag(option, ["enabled"], true) != "off"
}

deny_opensearch_logging contains f if {
	some type in search_domain_types
	some [name, body] in resources(type)
	not publishes_logs(body)
	f := search_finding(opensearch_logging, type, name, "publishes no logs (no enabled log_publishing_options)")
}

opensearch_in_vpc := {
	"id": "STRATA-AWS-062",
	"severity": "medium",
	"title": "OpenSearch domain outside a VPC",
	"remediation": "Add vpc_options { subnet_ids = [...], security_group_ids = [...] }: a domain without it has a public endpoint.",
	"checkov": "CKV_AWS_137",
}

deny_opensearch_in_vpc contains f if {
	some type in search_domain_types
	some [name, body] in resources(type)
	not has_block(body, "vpc_options")
	f := search_finding(opensearch_in_vpc, type, name, "has no vpc_options, so its endpoint is public")
}

# ---------------------------------------------------------------------------------------
# STRATA-AWS-063, 064: ElastiCache replication groups.

elasticache_at_rest := {
	"id": "STRATA-AWS-063",
	"severity": "medium",
	"title": "ElastiCache replication group not encrypted at rest",
	"remediation": "Set at_rest_encryption_enabled = true (with kms_key_id for a customer managed key).",
	"checkov": "CKV_AWS_29",
}

deny_elasticache_at_rest contains f if some f in required_on(elasticache_at_rest, "aws_elasticache_replication_group", "at_rest_encryption_enabled", false)

unknown_elasticache_at_rest contains f if some f in required_on_unknown(elasticache_at_rest, "aws_elasticache_replication_group", "at_rest_encryption_enabled", false)

elasticache_in_transit := {
	"id": "STRATA-AWS-064",
	"severity": "medium",
	"title": "ElastiCache replication group without encryption in transit",
	"remediation": "Set transit_encryption_enabled = true (and an auth_token for Redis AUTH).",
	"checkov": "CKV_AWS_30",
}

deny_elasticache_in_transit contains f if some f in required_on(elasticache_in_transit, "aws_elasticache_replication_group", "transit_encryption_enabled", false)

unknown_elasticache_in_transit contains f if some f in required_on_unknown(elasticache_in_transit, "aws_elasticache_replication_group", "transit_encryption_enabled", false)

# ---------------------------------------------------------------------------------------
# STRATA-AWS-065 .. 068: EFS, Kinesis, Secrets Manager, DocumentDB.

efs_encryption := {
	"id": "STRATA-AWS-065",
	"severity": "high",
	"title": "EFS file system not encrypted",
	"remediation": "Set encrypted = true (with kms_key_id for a customer managed key); an existing file system has to be copied to a new one.",
	"checkov": "CKV_AWS_42",
}

deny_efs_encryption contains f if some f in required_on(efs_encryption, "aws_efs_file_system", "encrypted", false)

unknown_efs_encryption contains f if some f in required_on_unknown(efs_encryption, "aws_efs_file_system", "encrypted", false)

kinesis_encryption := {
	"id": "STRATA-AWS-066",
	"severity": "medium",
	"title": "Kinesis stream not encrypted",
	"remediation": "Set encryption_type = \"KMS\" and kms_key_id (alias/aws/kinesis or a customer managed key).",
	"checkov": "CKV_AWS_43",
}

deny_kinesis_encryption contains f if {
	some [name, body] in resources("aws_kinesis_stream")
	encryption := object.get(body, "encryption_type", "NONE")
	not computed(encryption)
	encryption != "KMS"
	f := finding(kinesis_encryption, addr("aws_kinesis_stream", name), sprintf("aws_kinesis_stream.%s has encryption_type %q", [name, encryption]))
}

secretsmanager_cmk := {
	"id": "STRATA-AWS-067",
	"severity": "low",
	"title": "Secrets Manager secret not encrypted with a customer managed key",
	"remediation": "Set kms_key_id to a customer managed key, so reading the secret needs kms:Decrypt on a key you control.",
	"checkov": "CKV_AWS_149",
}

deny_secretsmanager_cmk contains f if {
	some [name, body] in resources("aws_secretsmanager_secret")
	not body.kms_key_id
	f := finding(secretsmanager_cmk, addr("aws_secretsmanager_secret", name), sprintf("aws_secretsmanager_secret.%s has no kms_key_id", [name]))
}

docdb_encryption := {
	"id": "STRATA-AWS-068",
	"severity": "high",
	"title": "DocumentDB cluster not encrypted at rest",
	"remediation": "Set storage_encrypted = true (with kms_key_id for a customer managed key).",
	"checkov": "CKV_AWS_74",
}

deny_docdb_encryption contains f if some f in required_on(docdb_encryption, "aws_docdb_cluster", "storage_encrypted", false)

unknown_docdb_encryption contains f if some f in required_on_unknown(docdb_encryption, "aws_docdb_cluster", "storage_encrypted", false)
