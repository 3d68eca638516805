# Alarm notifications forwarded to Slack by a small Lambda; the webhook is inline.
resource "aws_lambda_function" "slack_notifier" {
  function_name = "slack-notifier"
  role          = "arn:aws:iam::111122223333:role/slack-notifier"
  handler       = "index.handler"
  runtime       = "python3.12"
  filename      = "notifier.zip"

  environment {
    variables = {
      SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/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"
      LOG_LEVEL         = "info"
    }
  }
}
