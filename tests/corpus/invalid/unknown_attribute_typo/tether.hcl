account "aws" "prod" {
  main_acount_id    = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
}
