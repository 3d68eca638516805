# IAM as found in an old account: an administrator policy for CI, a wildcard on one
# bucket, a break-glass document, a policy on a user, AdministratorAccess attached to a
# role, and a role any AWS principal may assume. Next to them, scoped policies.
resource "aws_iam_policy" "ci_admin" {
  name = "ci-admin"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "*"
      Resource = "*"
    }]
  })
}

resource "aws_iam_policy" "report_uploader" {
  name   = "report-uploader"
  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": "*",
          "Resource": "arn:aws:s3:::acme-reports/*"
        }
      ]
    }
  EOT
}

resource "aws_iam_policy" "report_reader" {
  name = "report-reader"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:ListBucket"]
      Resource = ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"]
    }]
  })
}

data "aws_iam_policy_document" "break_glass" {
  statement {
    actions   = ["*"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "queue_consumer" {
  statement {
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = ["arn:aws:sqs:eu-west-1:123456789012:orders"]
  }
}

resource "aws_iam_user_policy" "ci_bot" {
  name = "ci-bot"
  user = "ci-bot"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["ecr:GetAuthorizationToken"]
      Resource = "*"
    }]
  })
}

resource "aws_iam_role" "operations" {
  name = "operations"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::123456789012:root" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "operations_admin" {
  role       = aws_iam_role.operations.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_group_policy_attachment" "auditors" {
  group      = "auditors"
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role" "partner_reports" {
  name = "partner-reports"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_policy_attachment" "deployers" {
  name       = "deployers"
  roles      = [aws_iam_role.operations.name]
  groups     = ["deployers"]
  policy_arn = aws_iam_policy.report_reader.arn
}
