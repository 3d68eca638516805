# ---------------------------------------------------------------------------
# Upstream inputs, supplied by the pipeline.
# ---------------------------------------------------------------------------

variable "cluster_name" {
  description = "Kubernetes cluster to scope workload alerts to (stacks/cluster:cluster_name)."
  type        = string
}

variable "database_instance_id" {
  description = "Database instance to scope database alerts to (stacks/database:instance_id)."
  type        = string
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

variable "slack_channel" {
  description = "Slack channel receiving all alerts for the environment."
  type        = string

  validation {
    condition     = can(regex("^#[a-z0-9_-]+$", var.slack_channel))
    error_message = "The slack_channel must start with # and contain lowercase letters, digits, hyphens or underscores."
  }
}

variable "enable_paging" {
  description = "Route critical alerts to the on-call pager instead of Slack only."
  type        = bool
  default     = false
}

variable "pagerduty_service" {
  description = "PagerDuty service name critical alerts page when paging is enabled."
  type        = string
  default     = "acme-platform"
}

variable "api_error_rate_threshold" {
  description = "Fraction of 5xx responses that triggers the API error alert."
  type        = number
  default     = 0.05

  validation {
    condition     = var.api_error_rate_threshold > 0 && var.api_error_rate_threshold < 1
    error_message = "The api_error_rate_threshold must be a fraction between 0 and 1."
  }
}

variable "api_availability_objective" {
  description = "Availability SLO of the public API over a 30-day window, e.g. 0.999."
  type        = number
  default     = 0.995

  validation {
    condition     = var.api_availability_objective >= 0.9 && var.api_availability_objective < 1
    error_message = "The api_availability_objective must be at least 0.9 and below 1."
  }
}

variable "database_cpu_threshold_percent" {
  description = "Sustained database CPU utilisation that triggers a warning."
  type        = number
  default     = 80
}

variable "worker_queue_backlog_threshold" {
  description = "Queued jobs above which the worker backlog alert fires."
  type        = number
  default     = 1000
}
