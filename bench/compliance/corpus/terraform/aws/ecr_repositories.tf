# A repository created with the defaults and opened to everyone, and one after review.
resource "aws_ecr_repository" "legacy_images" {
  name = "legacy-images"
}

resource "aws_ecr_repository_policy" "legacy_images" {
  repository = aws_ecr_repository.legacy_images.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "PullForAll"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    }]
  })
}

resource "aws_ecr_repository" "app_images" {
  name                 = "app-images"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
  }
}

resource "aws_ecr_repository_policy" "app_images" {
  repository = aws_ecr_repository.app_images.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "PullFromProd"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::210987654321:root" }
      Action    = ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    }]
  })
}
