module "naming" {
  source = "../naming"

  environment = var.environment
  component   = var.name
  region      = var.region
  owner_team  = var.owner_team
  extra_tags  = var.extra_tags
}

locals {
  vpc_name = "${module.naming.prefix}-vpc"

  nat_gateway_zones = var.enable_nat_gateway ? (
    var.single_nat_gateway ? [var.availability_zones[0]] : var.availability_zones
  ) : []

  tags_json = jsonencode(module.naming.tags)
}

resource "null_resource" "vpc" {
  triggers = {
    name                 = local.vpc_name
    region               = var.region
    cidr_block           = var.cidr_block
    enable_dns_support   = "true"
    enable_dns_hostnames = "true"
    tags                 = local.tags_json
  }
}

resource "null_resource" "internet_gateway" {
  triggers = {
    name   = "${local.vpc_name}-igw"
    vpc_id = null_resource.vpc.id
  }
}

resource "null_resource" "nat_gateway" {
  for_each = toset(local.nat_gateway_zones)

  triggers = {
    name              = "${local.vpc_name}-nat-${each.value}"
    availability_zone = each.value
    vpc_id            = null_resource.vpc.id
    tags              = local.tags_json
  }

  depends_on = [null_resource.internet_gateway]
}

resource "null_resource" "flow_logs" {
  count = var.enable_flow_logs ? 1 : 0

  triggers = {
    name           = "${local.vpc_name}-flow-logs"
    vpc_id         = null_resource.vpc.id
    traffic_type   = "ALL"
    retention_days = tostring(var.flow_log_retention_days)
  }
}
