# Worker with an extra data disk explicitly unencrypted.
resource "aws_instance" "etl_worker" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "r6i.large"

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted = true
  }

  ebs_block_device {
    device_name = "/dev/sdg"
    volume_size = 500
    encrypted   = false
  }
}
