account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}

# The security scanner stamps every instance nightly.
ignore "scanner_stamp" {
  account   = "aws.*"
  attribute = "tags.last_scanned"
  reason    = "written by the nightly scanner"
  owner     = "secops"
}

ignore "autoscaled" {
  account = aws.prod
  type    = "instance"
  tag     = "aws:autoscaling:groupName"
  reason  = "instances of autoscaling groups come and go"
  until   = "2099-12-31"
}

ignore "one_instance" {
  resource = "aws.prod/eu-west-1/instance/i-0abc*"
  reason   = "being migrated"
}

ignore "team_data" {
  tag    = "team=data"
  reason = "the data team's sandbox"
}
