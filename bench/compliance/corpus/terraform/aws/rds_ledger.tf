# The ledger database after its security review: encrypted, private, IAM authentication,
# deletion protection; the Aurora cluster behind the ledger API likewise.
resource "aws_db_instance" "ledger" {
  identifier                          = "ledger"
  engine                              = "postgres"
  instance_class                      = "db.m6g.large"
  allocated_storage                   = 100
  username                            = "ledger"
  manage_master_user_password         = true
  storage_encrypted                   = true
  publicly_accessible                 = false
  iam_database_authentication_enabled = true
  deletion_protection                 = true
}

resource "aws_rds_cluster" "ledger_api" {
  cluster_identifier                  = "ledger-api"
  engine                              = "aurora-postgresql"
  master_username                     = "ledger"
  manage_master_user_password         = true
  storage_encrypted                   = true
  iam_database_authentication_enabled = true
  deletion_protection                 = true
}
