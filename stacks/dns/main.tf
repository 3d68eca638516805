locals {
  ingress_records = {
    for host in var.service_hostnames : host => {
      type   = "CNAME"
      ttl    = var.record_ttl
      values = [var.ingress_endpoint]
    }
  }

  apex_records = {
    "@" = {
      type   = "TXT"
      ttl    = 3600
      values = concat(["v=spf1 -all"], var.verification_txt_records)
    }
  }

  tags = {
    Environment = var.environment
    Component   = "dns"
    ManagedBy   = "terraform"
  }
}

module "public_zone" {
  source = "../../modules/dns-zone"

  zone_name   = var.zone_name
  comment     = "Public hostnames for acme ${var.environment}"
  default_ttl = 300
  records     = merge(local.ingress_records, local.apex_records)
  tags        = local.tags
}
