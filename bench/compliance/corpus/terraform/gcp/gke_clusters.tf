# GKE: a cluster created years ago with legacy settings and its node pool, a cluster whose
# control plane is authorised for everyone, and the platform cluster built to the baseline.
resource "google_container_cluster" "legacy" {
  name                  = "legacy"
  location              = "europe-west1"
  initial_node_count    = 3
  enable_legacy_abac    = true
  enable_shielded_nodes = false
  logging_service       = "none"
  monitoring_service    = "none"

  master_auth {
    username = "admin"
    password = var.legacy_cluster_password

    client_certificate_config {
      issue_client_certificate = true
    }
  }

  node_config {
    machine_type = "e2-standard-4"
  }
}

resource "google_container_node_pool" "legacy_batch" {
  name       = "batch"
  cluster    = google_container_cluster.legacy.name
  location   = "europe-west1"
  node_count = 2

  management {
    auto_repair  = false
    auto_upgrade = false
  }

  node_config {
    machine_type = "e2-standard-8"
  }
}

resource "google_container_cluster" "data_science" {
  name               = "data-science"
  location           = "europe-west1"
  initial_node_count = 1

  network_policy {
    enabled  = true
    provider = "CALICO"
  }

  master_authorized_networks_config {
    cidr_blocks {
      cidr_block   = "0.0.0.0/0"
      display_name = "anywhere"
    }
  }
}

resource "google_container_cluster" "platform" {
  name                     = "platform"
  location                 = "europe-west1"
  remove_default_node_pool = true
  initial_node_count       = 1
  datapath_provider        = "ADVANCED_DATAPATH"

  master_authorized_networks_config {
    cidr_blocks {
      cidr_block   = "10.20.0.0/16"
      display_name = "vpn"
    }
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }
}

resource "google_container_node_pool" "platform_general" {
  name       = "general"
  cluster    = google_container_cluster.platform.name
  location   = "europe-west1"
  node_count = 3

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type = "e2-standard-4"

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}

variable "legacy_cluster_password" {
  type      = string
  sensitive = true
}
