account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
  depends_on = [aws.staging]
}
account "aws" "staging" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
  depends_on = [aws.prod]
}
