environment             = "staging"
region                  = "eu-west-1"
vpc_cidr                = "10.20.0.0/16"
availability_zones      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway      = true
flow_log_retention_days = 30
