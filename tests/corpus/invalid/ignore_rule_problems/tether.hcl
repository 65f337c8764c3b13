account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}

ignore "no_reason" {
  account = aws.prod
}

ignore "bad_until" {
  type   = "instance"
  reason = "known"
  until  = "31/03/2027"
}

ignore "unknown_type" {
  type   = "instanse"
  reason = "known"
}

ignore "bad_attribute" {
  attribute = "tag.last_scanned"
  reason    = "known"
}

ignore "bad_account" {
  account = "gcp.prod"
  reason  = "known"
}

ignore "matches_everything" {
  reason = "everything is fine"
}

ignore "bad_until" {
  resource = "aws.prod/*/instance/i-1*"
  reason   = "twice"
}

ignore {
  type   = "vpc"
  reason = "no name"
}

ignore "typo" {
  acount = "aws.prod"
  reason = "known"
}

ignore "empty_tag" {
  tag    = "=x"
  reason = "known"
}
