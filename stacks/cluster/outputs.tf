output "cluster_name" {
  description = "Name of the Kubernetes cluster."
  value       = module.cluster.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.cluster.cluster_endpoint
}

output "oidc_issuer_url" {
  description = "OIDC issuer for workload identity."
  value       = module.cluster.oidc_issuer_url
}

output "ingress_endpoint" {
  description = "Hostname of the ingress load balancer, consumed by stacks/dns."
  value       = module.cluster.ingress_endpoint
}

output "node_pool_names" {
  description = "Worker node pools in the cluster."
  value       = module.cluster.node_pool_names
}
