environment              = "staging"
region                   = "eu-west-1"
instance_class           = "db.t4g.large"
allocated_storage_gb     = 50
max_allocated_storage_gb = 200
multi_az                 = false
backup_retention_days    = 7
deletion_protection      = true
