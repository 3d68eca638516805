# Batch worker: IMDSv2 required, but the root volume does not say whether it is encrypted
# (Terraform then creates it unencrypted unless account-level EBS encryption is on).
resource "aws_instance" "batch_worker" {
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "c6i.xlarge"

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    volume_size = 100
    volume_type = "gp3"
  }
}
