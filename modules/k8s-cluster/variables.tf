variable "environment" {
  description = "Deployment environment (dev, staging or prod)."
  type        = string
}

variable "name" {
  description = "Component name of the cluster, used in the naming convention."
  type        = string
  default     = "k8s"
}

variable "region" {
  description = "Region the cluster runs in."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes control plane version (major.minor)."
  type        = string
  default     = "1.29"

  validation {
    condition     = can(regex("^1\\.(2[7-9]|3[0-1])$", var.kubernetes_version))
    error_message = "The kubernetes_version must be a supported minor release between 1.27 and 1.31."
  }
}

variable "vpc_id" {
  description = "VPC the cluster is attached to."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the control plane endpoints and worker nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "A cluster needs at least two subnets in different zones."
  }
}

variable "public_subnet_ids" {
  description = "Public subnets the ingress load balancer is placed in."
  type        = list(string)
  default     = []
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API on a public endpoint (restricted by allowed_api_cidrs)."
  type        = bool
  default     = false
}

variable "allowed_api_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_api_cidrs : can(cidrhost(cidr, 0))])
    error_message = "Every entry of allowed_api_cidrs must be a valid CIDR block."
  }
}

variable "node_pools" {
  description = "Worker node pools keyed by pool name."
  type = map(object({
    instance_type = string
    min_size      = number
    max_size      = number
    desired_size  = number
    spot          = bool
    labels        = map(string)
  }))

  validation {
    condition = alltrue([
      for pool in values(var.node_pools) :
      pool.min_size <= pool.desired_size && pool.desired_size <= pool.max_size
    ])
    error_message = "Each node pool needs min_size <= desired_size <= max_size."
  }
}

variable "ingress_class" {
  description = "Ingress controller class installed in the cluster."
  type        = string
  default     = "nginx"

  validation {
    condition     = contains(["nginx", "traefik"], var.ingress_class)
    error_message = "The ingress_class must be nginx or traefik."
  }
}

variable "owner_team" {
  description = "Team that owns the cluster."
  type        = string
  default     = "platform"
}
