# Orders database: opened to the internet for a reporting tool, storage never encrypted.
resource "aws_db_instance" "orders" {
  identifier          = "orders"
  engine              = "postgres"
  engine_version      = "15.4"
  instance_class      = "db.t3.medium"
  allocated_storage   = 100
  username            = "orders"
  password            = "change-me-in-secrets-manager"
  publicly_accessible = true
  skip_final_snapshot = true
}
