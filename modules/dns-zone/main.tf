locals {
  records = {
    for name, record in var.records : name => {
      fqdn   = name == "@" ? var.zone_name : "${name}.${var.zone_name}"
      type   = record.type
      ttl    = record.ttl > 0 ? record.ttl : var.default_ttl
      values = record.values
    }
  }
}

resource "null_resource" "zone" {
  triggers = {
    name         = var.zone_name
    private_zone = tostring(var.private_zone)
    comment      = var.comment
    tags         = jsonencode(var.tags)
  }
}

resource "null_resource" "record" {
  for_each = local.records

  triggers = {
    zone_id = null_resource.zone.id
    fqdn    = each.value.fqdn
    type    = each.value.type
    ttl     = tostring(each.value.ttl)
    values  = join(",", each.value.values)
  }
}
