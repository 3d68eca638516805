# Central naming and tagging convention.
#
# Names follow <org>-<env>-<component>, for example acme-prod-orders-db.
# Kubernetes label keys cannot contain spaces or capitals, so a second,
# label-safe map is derived from the same source of truth.

locals {
  env_short = {
    dev     = "d"
    staging = "s"
    prod    = "p"
  }[var.environment]

  prefix       = "${var.organization}-${var.environment}-${var.component}"
  short_prefix = "${var.organization}${local.env_short}-${var.component}"

  standard_tags = {
    Organization = var.organization
    Environment  = var.environment
    Component    = var.component
    Region       = var.region
    Owner        = var.owner_team
    CostCenter   = var.cost_center
    ManagedBy    = "terraform"
  }

  tags = merge(local.standard_tags, var.extra_tags)

  labels = {
    "app.kubernetes.io/part-of"    = var.component
    "app.kubernetes.io/managed-by" = "terraform"
    "acme.io/environment"          = var.environment
    "acme.io/owner"                = var.owner_team
    "acme.io/cost-center"          = var.cost_center
  }
}

# Publishes the computed names so they show up in plans and state, which
# makes renames visible during review.
data "null_data_source" "name" {
  inputs = {
    prefix       = local.prefix
    short_prefix = local.short_prefix
    environment  = var.environment
  }
}
