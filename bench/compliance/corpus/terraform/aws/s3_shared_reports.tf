# Reports bucket shared with the world through an explicit ACL grant.
resource "aws_s3_bucket" "shared_reports" {
  bucket = "acme-shared-reports"
}

data "aws_canonical_user_id" "current" {}

resource "aws_s3_bucket_acl" "shared_reports" {
  bucket = aws_s3_bucket.shared_reports.id

  access_control_policy {
    grant {
      grantee {
        id   = data.aws_canonical_user_id.current.id
        type = "CanonicalUser"
      }
      permission = "FULL_CONTROL"
    }

    grant {
      grantee {
        type = "Group"
        uri  = "http://acs.amazonaws.com/groups/global/AllUsers"
      }
      permission = "READ"
    }

    owner {
      id = data.aws_canonical_user_id.current.id
    }
  }
}

resource "aws_s3_bucket_versioning" "shared_reports" {
  bucket = aws_s3_bucket.shared_reports.id
  versioning_configuration {
    status = "Enabled"
  }
}
