# Old autoscaling group still on a launch configuration.
resource "aws_launch_configuration" "web_asg" {
  name_prefix   = "web-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.medium"

  root_block_device {
    volume_size = 30
    encrypted   = false
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_launch_configuration" "worker_asg" {
  name_prefix   = "worker-"
  image_id      = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.medium"

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted = true
  }
}
