account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
  regions        = ["us-east-1", "us-gov-west-1"]
  resource_types = ["instance", "vpc"]
  tags           = { team = "platform", "cost-centre" = "42" }
  api_endpoint   = "http://127.0.0.1:4566"
  depends_on     = ["aws.base"]
}
account "aws" "base" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}
