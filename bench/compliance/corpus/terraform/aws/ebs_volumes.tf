# Data volumes attached by hand.
resource "aws_ebs_volume" "postgres_data" {
  availability_zone = "eu-west-1a"
  size              = 500
  type              = "gp3"
  encrypted         = true
  kms_key_id        = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
}

resource "aws_ebs_volume" "scratch" {
  availability_zone = "eu-west-1a"
  size              = 100
  type              = "gp3"
}
