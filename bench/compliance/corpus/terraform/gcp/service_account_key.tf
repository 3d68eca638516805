# Provider pointed at a service account key pasted into a variable default.
variable "ci_service_account_key" {
  type    = string
  default = "ewogICJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCIsCiAgInByb2plY3RfaWQiOiAiYWNtZS1jaSIKfQo9Xk3mR7tQ2wZ8pL5nV1cB6yH4"
}

provider "google" {
  project     = "acme-ci"
  region      = "europe-west1"
  credentials = var.ci_service_account_key
}
