# Inventory database whose settings come from variables with defaults.
variable "inventory_encrypted" {
  type    = bool
  default = false
}

resource "aws_db_instance" "inventory" {
  identifier                  = "inventory"
  engine                      = "postgres"
  instance_class              = "db.t3.small"
  allocated_storage           = 20
  username                    = "inventory"
  manage_master_user_password = true
  storage_encrypted           = var.inventory_encrypted
  publicly_accessible         = false
}
