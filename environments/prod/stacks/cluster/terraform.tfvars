environment           = "prod"
region                = "eu-west-1"
kubernetes_version    = "1.29"
general_instance_type = "m6i.xlarge"
general_node_count    = 6
general_node_max      = 18
enable_spot_pool      = true
spot_node_max         = 12
# Production API access goes through the VPN only.
allowed_api_cidrs = []
