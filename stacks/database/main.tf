locals {
  # Production keeps slow-query logging tighter to catch regressions early.
  environment_parameters = {
    dev     = { log_min_duration_statement = "1000" }
    staging = { log_min_duration_statement = "500" }
    prod    = { log_min_duration_statement = "250", idle_in_transaction_session_timeout = "60000" }
  }
}

module "orders_db" {
  source = "../../modules/postgres"

  environment              = var.environment
  identifier               = "orders-db"
  region                   = var.region
  vpc_id                   = var.vpc_id
  subnet_ids               = var.subnet_ids
  engine_version           = "15.5"
  instance_class           = var.instance_class
  allocated_storage_gb     = var.allocated_storage_gb
  max_allocated_storage_gb = var.max_allocated_storage_gb
  multi_az                 = var.multi_az
  backup_retention_days    = var.backup_retention_days
  deletion_protection      = var.deletion_protection
  database_name            = "orders"
  owner_team               = "orders"
  parameters               = merge(local.environment_parameters[var.environment], var.extra_parameters)
}
