locals {
  dashboard_titles = { for name, body in var.dashboards : name => lookup(jsondecode(body), "title", name) }
}

resource "null_resource" "notification_channel" {
  for_each = var.notification_channels

  triggers = {
    name        = "${var.environment}-${each.key}"
    type        = each.value.type
    target      = each.value.target
    environment = var.environment
  }
}

# A rule routed to an undefined channel fails the plan with an invalid index
# error on notification_channel, so pages are never silently dropped.
resource "null_resource" "alert_rule" {
  for_each = var.alert_rules

  triggers = {
    name       = "${var.namespace}-${var.environment}-${each.key}"
    severity   = each.value.severity
    channels   = join(",", [for channel in each.value.channels : null_resource.notification_channel[channel].id])
    definition = sha256(each.value.definition)
  }
}

resource "null_resource" "dashboard" {
  for_each = var.dashboards

  triggers = {
    name    = "${var.namespace}-${var.environment}-${each.key}"
    title   = local.dashboard_titles[each.key]
    content = sha256(each.value)
    tags    = jsonencode(var.tags)
  }
}
