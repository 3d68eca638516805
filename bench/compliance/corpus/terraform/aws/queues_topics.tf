# Messaging: a topic without a key and one with, a queue whose encryption was turned off,
# a queue with the defaults, and an encrypted queue whose policy lets anyone send.
resource "aws_sns_topic" "deploy_notices" {
  name = "deploy-notices"
}

resource "aws_sns_topic" "order_events" {
  name              = "order-events"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sqs_queue" "legacy_jobs" {
  name                    = "legacy-jobs"
  sqs_managed_sse_enabled = false
}

resource "aws_sqs_queue" "thumbnails" {
  name = "thumbnails"
}

resource "aws_sqs_queue" "order_intake" {
  name              = "order-intake"
  kms_master_key_id = "alias/aws/sqs"
}

resource "aws_sqs_queue_policy" "order_intake" {
  queue_url = aws_sqs_queue.order_intake.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:123456789012:order-intake"
    }]
  })
}

resource "aws_sqs_queue_policy" "thumbnails" {
  queue_url = aws_sqs_queue.thumbnails.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:123456789012:thumbnails"
    }]
  })
}
