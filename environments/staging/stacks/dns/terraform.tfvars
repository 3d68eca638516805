environment       = "staging"
zone_name         = "staging.acme.example"
service_hostnames = ["api", "www"]
record_ttl        = 60
