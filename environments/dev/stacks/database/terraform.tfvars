environment           = "dev"
region                = "eu-west-1"
instance_class        = "db.t4g.small"
allocated_storage_gb  = 20
multi_az              = false
backup_retention_days = 1
deletion_protection   = false
