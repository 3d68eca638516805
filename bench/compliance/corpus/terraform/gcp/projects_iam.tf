# Projects and project IAM: a sandbox created with the default network, a contractor
# given editor, a user allowed to mint tokens for every service account; and the
# production project with a predefined role.
resource "google_project" "sandbox" {
  name       = "acme-sandbox"
  project_id = "acme-sandbox"
  org_id     = "123456789012"
}

resource "google_project" "production" {
  name                = "acme-prod"
  project_id          = "acme-prod"
  org_id              = "123456789012"
  auto_create_network = false
}

resource "google_project_iam_member" "contractor_editor" {
  project = "acme-sandbox"
  role    = "roles/editor"
  member  = "user:contractor@partner.example"
}

resource "google_project_iam_binding" "token_minters" {
  project = "acme-prod"
  role    = "roles/iam.serviceAccountTokenCreator"
  members = ["user:ops-lead@acme.example"]
}

resource "google_project_iam_member" "log_readers" {
  project = "acme-prod"
  role    = "roles/logging.viewer"
  member  = "group:sre@acme.example"
}
