environment           = "dev"
region                = "eu-west-1"
kubernetes_version    = "1.30"
general_instance_type = "t3.large"
general_node_count    = 2
general_node_max      = 3
enable_spot_pool      = false
allowed_api_cidrs     = ["203.0.113.0/24"]
