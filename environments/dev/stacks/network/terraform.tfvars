environment             = "dev"
region                  = "eu-west-1"
vpc_cidr                = "10.10.0.0/16"
availability_zones      = ["eu-west-1a", "eu-west-1b"]
single_nat_gateway      = true
flow_log_retention_days = 7
