locals {
  # Address plan inside the VPC /16:
  #   first half  (/17) -> private subnets, one /20 per zone
  #   third quarter (/18) -> public subnets, one /22 per zone
  #   last quarter is held back for future tiers (data, transit).
  private_range = cidrsubnet(var.vpc_cidr, 1, 0)
  public_range  = cidrsubnet(var.vpc_cidr, 2, 2)
}

module "vpc" {
  source = "../../modules/vpc"

  environment             = var.environment
  region                  = var.region
  cidr_block              = var.vpc_cidr
  availability_zones      = var.availability_zones
  enable_nat_gateway      = true
  single_nat_gateway      = var.single_nat_gateway
  flow_log_retention_days = var.flow_log_retention_days
}

module "public_subnets" {
  source = "../../modules/subnet-set"

  vpc_id             = module.vpc.vpc_id
  name_prefix        = module.vpc.vpc_name
  tier               = "public"
  cidr_block         = local.public_range
  newbits            = 4
  availability_zones = var.availability_zones
  route_target_ids   = { for zone in var.availability_zones : zone => module.vpc.internet_gateway_id }
  tags               = module.vpc.tags
}

module "private_subnets" {
  source = "../../modules/subnet-set"

  vpc_id             = module.vpc.vpc_id
  name_prefix        = module.vpc.vpc_name
  tier               = "private"
  cidr_block         = local.private_range
  newbits            = 3
  availability_zones = var.availability_zones
  # With a single NAT gateway every zone routes through the first one.
  route_target_ids = {
    for zone in var.availability_zones : zone => lookup(module.vpc.nat_gateway_ids, zone, values(module.vpc.nat_gateway_ids)[0])
  }
  tags = module.vpc.tags
}
