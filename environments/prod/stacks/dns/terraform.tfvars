environment       = "prod"
zone_name         = "acme.example"
service_hostnames = ["api", "www", "shop"]
record_ttl        = 300
verification_txt_records = [
  "acme-site-verification=4f9c2e7a1b",
]
