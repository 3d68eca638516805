# ---------------------------------------------------------------------------
# Upstream inputs, supplied by the pipeline from stacks/network outputs.
# ---------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC the cluster is attached to (stacks/network:vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for nodes and the control plane (stacks/network:private_subnet_ids)."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the ingress load balancer (stacks/network:public_subnet_ids)."
  type        = list(string)
}

# ---------------------------------------------------------------------------
# Per-environment settings.
# ---------------------------------------------------------------------------

variable "environment" {
  description = "Deployment environment (dev, staging or prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "region" {
  description = "Region the cluster runs in."
  type        = string
  default     = "eu-west-1"
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane."
  type        = string
  default     = "1.29"
}

variable "general_instance_type" {
  description = "Instance type of the general-purpose node pool."
  type        = string
  default     = "m6i.large"
}

variable "general_node_count" {
  description = "Desired node count of the general-purpose pool."
  type        = number
  default     = 2

  validation {
    condition     = var.general_node_count >= 1 && var.general_node_count <= 50
    error_message = "The general_node_count must be between 1 and 50."
  }
}

variable "general_node_max" {
  description = "Autoscaling ceiling of the general-purpose pool."
  type        = number
  default     = 4
}

variable "enable_spot_pool" {
  description = "Add a spot-capacity pool for interruptible batch workloads (the worker chart)."
  type        = bool
  default     = true
}

variable "spot_node_max" {
  description = "Autoscaling ceiling of the spot pool."
  type        = number
  default     = 6
}

variable "allowed_api_cidrs" {
  description = "Office and VPN ranges allowed to reach the Kubernetes API."
  type        = list(string)
  default     = []
}
