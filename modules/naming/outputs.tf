output "prefix" {
  description = "Full resource name prefix: <org>-<env>-<component>."
  value       = data.null_data_source.name.outputs["prefix"]
}

output "short_prefix" {
  description = "Compact prefix for resources with tight name length limits."
  value       = data.null_data_source.name.outputs["short_prefix"]
}

output "tags" {
  description = "Standard tag map to attach to every resource of the component."
  value       = local.tags
}

output "labels" {
  description = "Kubernetes-safe label map derived from the same convention."
  value       = local.labels
}
