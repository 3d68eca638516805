# Launch templates for two node groups.
resource "aws_launch_template" "ingest_nodes" {
  name_prefix   = "ingest-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "c6i.large"

  metadata_options {
    http_endpoint = "disabled"
  }
}

resource "aws_launch_template" "legacy_nodes" {
  name_prefix   = "legacy-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "m5.large"
}
