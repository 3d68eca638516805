module "naming" {
  source = "../naming"

  environment = var.environment
  component   = var.identifier
  region      = var.region
  owner_team  = var.owner_team
}

locals {
  instance_name = module.naming.prefix
  family        = "postgres${split(".", var.engine_version)[0]}"

  # Settings every Acme database gets; callers can override or extend them.
  default_parameters = {
    log_min_duration_statement = "500"
    log_connections            = "1"
    "rds.force_ssl"            = "1"
  }
  parameters = merge(local.default_parameters, var.parameters)

  tags_json = jsonencode(module.naming.tags)
}

resource "null_resource" "subnet_group" {
  triggers = {
    name       = "${local.instance_name}-subnets"
    vpc_id     = var.vpc_id
    subnet_ids = join(",", var.subnet_ids)
  }
}

resource "null_resource" "parameter_group" {
  triggers = {
    name       = "${local.instance_name}-${local.family}"
    family     = local.family
    parameters = jsonencode(local.parameters)
  }
}

resource "null_resource" "security_group" {
  triggers = {
    name          = "${local.instance_name}-sg"
    vpc_id        = var.vpc_id
    ingress_port  = tostring(var.port)
    ingress_scope = "vpc"
  }
}

resource "null_resource" "instance" {
  triggers = {
    identifier            = local.instance_name
    engine                = "postgres"
    engine_version        = var.engine_version
    instance_class        = var.instance_class
    allocated_storage     = tostring(var.allocated_storage_gb)
    max_allocated_storage = tostring(var.max_allocated_storage_gb)
    multi_az              = tostring(var.multi_az)
    backup_retention_days = tostring(var.backup_retention_days)
    deletion_protection   = tostring(var.deletion_protection)
    storage_encrypted     = "true"
    database_name         = var.database_name
    port                  = tostring(var.port)
    subnet_group          = null_resource.subnet_group.id
    parameter_group       = null_resource.parameter_group.id
    security_group        = null_resource.security_group.id
    tags                  = local.tags_json
  }
}
