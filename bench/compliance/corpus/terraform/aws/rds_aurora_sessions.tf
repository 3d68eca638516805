# Aurora cluster for sessions: encrypted, instances private.
resource "aws_rds_cluster" "sessions" {
  cluster_identifier          = "sessions"
  engine                      = "aurora-mysql"
  master_username             = "sessions"
  manage_master_user_password = true
  storage_encrypted           = true
}

resource "aws_rds_cluster_instance" "sessions_1" {
  identifier          = "sessions-1"
  cluster_identifier  = aws_rds_cluster.sessions.id
  instance_class      = "db.r6g.large"
  engine              = aws_rds_cluster.sessions.engine
  publicly_accessible = false
}
