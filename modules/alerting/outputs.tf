output "alert_rule_names" {
  description = "Fully qualified names of the alert rules."
  value       = sort([for rule in null_resource.alert_rule : rule.triggers.name])
}

output "dashboard_titles" {
  description = "Dashboard titles keyed by dashboard name."
  value       = local.dashboard_titles
}

output "notification_channel_ids" {
  description = "Identifiers of the notification channels keyed by channel name."
  value       = { for name, channel in null_resource.notification_channel : name => channel.id }
}
