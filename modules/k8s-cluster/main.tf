module "naming" {
  source = "../naming"

  environment = var.environment
  component   = var.name
  region      = var.region
  owner_team  = var.owner_team
}

locals {
  cluster_name = module.naming.prefix
  tags_json    = jsonencode(module.naming.tags)

  ingress_subnet_ids = length(var.public_subnet_ids) > 0 ? var.public_subnet_ids : var.subnet_ids
  ingress_scheme     = length(var.public_subnet_ids) > 0 ? "internet-facing" : "internal"
}

resource "null_resource" "control_plane" {
  triggers = {
    name                   = local.cluster_name
    kubernetes_version     = var.kubernetes_version
    vpc_id                 = var.vpc_id
    subnet_ids             = join(",", var.subnet_ids)
    endpoint_public_access = tostring(var.endpoint_public_access)
    allowed_api_cidrs      = join(",", var.allowed_api_cidrs)
    secrets_encryption     = "kms"
    tags                   = local.tags_json
  }
}

resource "null_resource" "node_pool" {
  for_each = var.node_pools

  triggers = {
    cluster       = null_resource.control_plane.id
    name          = "${local.cluster_name}-${each.key}"
    instance_type = each.value.instance_type
    min_size      = tostring(each.value.min_size)
    max_size      = tostring(each.value.max_size)
    desired_size  = tostring(each.value.desired_size)
    capacity_type = each.value.spot ? "SPOT" : "ON_DEMAND"
    labels        = jsonencode(merge(module.naming.labels, each.value.labels, { "acme.io/node-pool" = each.key }))
  }
}

resource "null_resource" "ingress_controller" {
  triggers = {
    cluster       = null_resource.control_plane.id
    ingress_class = var.ingress_class
    scheme        = local.ingress_scheme
    subnet_ids    = join(",", local.ingress_subnet_ids)
  }

  # The controller is scheduled onto worker nodes, so wait for the pools.
  depends_on = [null_resource.node_pool]
}
