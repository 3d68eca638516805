locals {
  subnets = {
    for index, zone in var.availability_zones : zone => {
      name       = "${var.name_prefix}-${var.tier}-${zone}"
      cidr_block = cidrsubnet(var.cidr_block, var.newbits, index)
    }
  }

  tags = merge(var.tags, { Tier = var.tier })
}

resource "null_resource" "subnet" {
  for_each = local.subnets

  triggers = {
    vpc_id                  = var.vpc_id
    name                    = each.value.name
    availability_zone       = each.key
    cidr_block              = each.value.cidr_block
    map_public_ip_on_launch = tostring(var.tier == "public")
    tags                    = jsonencode(local.tags)
  }
}

resource "null_resource" "route_table" {
  for_each = local.subnets

  triggers = {
    name          = "${each.value.name}-rt"
    subnet_id     = null_resource.subnet[each.key].id
    default_route = lookup(var.route_target_ids, each.key, "none")
  }
}
