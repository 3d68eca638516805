environment              = "prod"
region                   = "eu-west-1"
instance_class           = "db.r6g.xlarge"
allocated_storage_gb     = 500
max_allocated_storage_gb = 2000
multi_az                 = true
backup_retention_days    = 35
deletion_protection      = true

extra_parameters = {
  max_connections = "400"
  work_mem        = "16384"
}
