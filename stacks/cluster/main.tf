locals {
  all_node_pools = {
    general = {
      instance_type = var.general_instance_type
      min_size      = var.general_node_count
      max_size      = var.general_node_max
      desired_size  = var.general_node_count
      spot          = false
      labels        = { "acme.io/workload" = "general" }
    }

    # Interruptible capacity for the worker chart's batch jobs.
    batch = {
      instance_type = "m6i.large"
      min_size      = 0
      max_size      = var.spot_node_max
      desired_size  = 1
      spot          = true
      labels        = { "acme.io/workload" = "batch" }
    }
  }

  node_pools = {
    for name, pool in local.all_node_pools : name => pool
    if name != "batch" || var.enable_spot_pool
  }
}

module "cluster" {
  source = "../../modules/k8s-cluster"

  environment            = var.environment
  name                   = "k8s"
  region                 = var.region
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = var.vpc_id
  subnet_ids             = var.subnet_ids
  public_subnet_ids      = var.public_subnet_ids
  endpoint_public_access = length(var.allowed_api_cidrs) > 0
  allowed_api_cidrs      = var.allowed_api_cidrs
  node_pools             = local.node_pools
  ingress_class          = "nginx"
}
