output "cluster_name" {
  description = "Name of the Kubernetes cluster."
  value       = local.cluster_name
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API server."
  value       = "https://${null_resource.control_plane.id}.${var.region}.k8s.acme.internal"
}

output "kubernetes_version" {
  description = "Control plane version."
  value       = var.kubernetes_version
}

output "oidc_issuer_url" {
  description = "OIDC issuer used for workload identity federation."
  value       = "https://oidc.${var.region}.k8s.acme.internal/id/${null_resource.control_plane.id}"
}

output "ingress_endpoint" {
  description = "Hostname of the ingress load balancer; point application DNS records at it."
  value       = "${local.cluster_name}-ingress-${null_resource.ingress_controller.id}.${var.region}.elb.acme.internal"
}

output "ingress_scheme" {
  description = "Whether the ingress load balancer is internet-facing or internal."
  value       = local.ingress_scheme
}

output "node_pool_names" {
  description = "Names of the worker node pools."
  value       = sort(keys(var.node_pools))
}
