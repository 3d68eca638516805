# A build agent given a public address, and a launch template whose instances get one.
resource "aws_instance" "build_agent" {
  ami                         = "ami-0123456789abcdef0"
  instance_type               = "t3.large"
  associate_public_ip_address = true

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted = true
  }
}

resource "aws_launch_template" "preview_envs" {
  name_prefix   = "preview-"
  image_id      = "ami-0123456789abcdef0"
  instance_type = "t3.medium"

  metadata_options {
    http_tokens = "required"
  }

  network_interfaces {
    associate_public_ip_address = true
  }
}
