# Data stores as first created (DynamoDB, Redshift, OpenSearch, ElastiCache, EFS, Kinesis,
# Secrets Manager, DocumentDB), each next to its hardened counterpart.
resource "aws_dynamodb_table" "sessions" {
  name         = "sessions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_dynamodb_table" "order_ledger" {
  name         = "order-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
  }
}

resource "aws_redshift_cluster" "analytics" {
  cluster_identifier  = "analytics"
  node_type           = "ra3.xlplus"
  master_username     = "analyst"
  master_password     = var.analytics_password
  publicly_accessible = true
}

resource "aws_redshift_cluster" "finance" {
  cluster_identifier  = "finance"
  node_type           = "ra3.xlplus"
  master_username     = "finance"
  master_password     = var.finance_password
  encrypted           = true
  publicly_accessible = false

  logging {
    enable        = true
    bucket_name   = "acme-audit-logs"
    s3_key_prefix = "redshift/finance"
  }
}

resource "aws_opensearch_domain" "app_logs" {
  domain_name    = "app-logs"
  engine_version = "OpenSearch_2.11"

  cluster_config {
    instance_type  = "r6g.large.search"
    instance_count = 3
  }
}

resource "aws_elasticsearch_domain" "catalog" {
  domain_name           = "catalog"
  elasticsearch_version = "7.10"

  encrypt_at_rest {
    enabled = true
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  log_publishing_options {
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/acme/catalog"
  }

  vpc_options {
    subnet_ids         = ["subnet-0a1b2c3d4e5f60720"]
    security_group_ids = ["sg-0a1b2c3d4e5f60718"]
  }
}

resource "aws_elasticache_replication_group" "sessions" {
  replication_group_id = "sessions"
  description          = "web sessions"
  engine               = "redis"
  node_type            = "cache.t4g.small"
}

resource "aws_elasticache_replication_group" "carts" {
  replication_group_id       = "carts"
  description                = "shopping carts"
  engine                     = "redis"
  node_type                  = "cache.t4g.small"
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
}

resource "aws_efs_file_system" "shared_home" {
  creation_token = "shared-home"
}

resource "aws_efs_file_system" "uploads" {
  creation_token = "uploads"
  encrypted      = true
}

resource "aws_kinesis_stream" "clickstream" {
  name        = "clickstream"
  shard_count = 2
}

resource "aws_kinesis_stream" "payments_events" {
  name            = "payments-events"
  shard_count     = 2
  encryption_type = "KMS"
  kms_key_id      = "alias/aws/kinesis"
}

resource "aws_secretsmanager_secret" "legacy_api" {
  name = "legacy-api"
}

resource "aws_secretsmanager_secret" "payments_db" {
  name       = "payments-db"
  kms_key_id = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
}

resource "aws_docdb_cluster" "profiles" {
  cluster_identifier = "profiles"
  master_username    = "profiles"
  master_password    = var.profiles_password
}

resource "aws_docdb_cluster" "catalog_docs" {
  cluster_identifier = "catalog-docs"
  master_username    = "catalog"
  master_password    = var.catalog_password
  storage_encrypted  = true
}

variable "analytics_password" {
  type      = string
  sensitive = true
}

variable "finance_password" {
  type      = string
  sensitive = true
}

variable "profiles_password" {
  type      = string
  sensitive = true
}

variable "catalog_password" {
  type      = string
  sensitive = true
}
