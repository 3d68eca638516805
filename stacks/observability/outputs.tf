output "alert_rule_names" {
  description = "Alert rules installed for the environment."
  value       = module.alerting.alert_rule_names
}

output "dashboard_titles" {
  description = "Dashboards published from shared/dashboards, keyed by file name."
  value       = module.alerting.dashboard_titles
}

output "notification_channels" {
  description = "Notification channels alerts are routed to."
  value       = sort(keys(module.alerting.notification_channel_ids))
}

output "rendered_rules" {
  description = "Rendered rule documents, for review in plan output."
  value       = { for name, rule in merge(local.rendered_threshold_rules, local.slo_rules) : name => rule.definition }
}
