# ---------------------------------------------------------------------------
# Upstream inputs, supplied by the pipeline from stacks/cluster outputs.
# ---------------------------------------------------------------------------

variable "ingress_endpoint" {
  description = "Hostname of the cluster ingress load balancer (stacks/cluster:ingress_endpoint)."
  type        = string
}

# ---------------------------------------------------------------------------
# Per-environment settings.
# ---------------------------------------------------------------------------

variable "environment" {
  description = "Deployment environment (staging or prod)."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "DNS is only managed for staging and prod."
  }
}

variable "zone_name" {
  description = "Public zone served for this environment."
  type        = string
}

variable "service_hostnames" {
  description = "Relative hostnames routed to the cluster ingress."
  type        = list(string)
  default     = ["api", "www"]
}

variable "record_ttl" {
  description = "TTL in seconds for the ingress CNAME records. Keep low while migrating."
  type        = number
  default     = 300
}

variable "verification_txt_records" {
  description = "Extra TXT values on the zone apex (domain ownership checks and similar)."
  type        = list(string)
  default     = []
}
