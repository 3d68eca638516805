# Billing database: private and encrypted with a CMK.
resource "aws_db_instance" "billing" {
  identifier                  = "billing"
  engine                      = "mysql"
  engine_version              = "8.0"
  instance_class              = "db.r6g.large"
  allocated_storage           = 200
  username                    = "billing"
  manage_master_user_password = true
  storage_encrypted           = true
  kms_key_id                  = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
  publicly_accessible         = false
  multi_az                    = true
  deletion_protection         = true
}

resource "aws_db_instance" "billing_replica" {
  identifier          = "billing-replica"
  replicate_source_db = aws_db_instance.billing.identifier
  instance_class      = "db.r6g.large"
  publicly_accessible = false
}
