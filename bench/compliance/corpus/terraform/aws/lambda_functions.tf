# A thumbnail function published with a public URL and a public permission, and a
# billing export function traced, with encrypted variables and a scoped permission.
resource "aws_lambda_function" "thumbnailer" {
  function_name = "thumbnailer"
  role          = "arn:aws:iam::123456789012:role/thumbnailer"
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "thumbnailer.zip"

  environment {
    variables = {
      BUCKET = "acme-thumbnails"
    }
  }
}

resource "aws_lambda_function_url" "thumbnailer" {
  function_name      = aws_lambda_function.thumbnailer.function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "thumbnailer_public" {
  statement_id  = "AllowEveryone"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.thumbnailer.function_name
  principal     = "*"
}

resource "aws_lambda_function" "billing_export" {
  function_name = "billing-export"
  role          = "arn:aws:iam::123456789012:role/billing-export"
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "billing_export.zip"
  kms_key_arn   = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = {
      EXPORT_BUCKET = "acme-billing"
    }
  }
}

resource "aws_lambda_function_url" "billing_export" {
  function_name      = aws_lambda_function.billing_export.function_name
  authorization_type = "AWS_IAM"
}

resource "aws_lambda_permission" "billing_schedule" {
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.billing_export.function_name
  principal     = "events.amazonaws.com"
  source_arn    = "arn:aws:events:eu-west-1:123456789012:rule/nightly-billing"
}
