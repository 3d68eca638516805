# Aurora cluster for analytics: storage encryption switched off, one instance public.
resource "aws_rds_cluster" "analytics" {
  cluster_identifier  = "analytics"
  engine              = "aurora-postgresql"
  master_username     = "analytics"
  master_password     = "change-me-in-secrets-manager"
  storage_encrypted   = false
  skip_final_snapshot = true
}

resource "aws_rds_cluster_instance" "analytics_1" {
  identifier          = "analytics-1"
  cluster_identifier  = aws_rds_cluster.analytics.id
  instance_class      = "db.r6g.large"
  engine              = aws_rds_cluster.analytics.engine
  publicly_accessible = true
}
