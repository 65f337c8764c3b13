account "aws" "prod" {
  main_account_id   = "12345678901"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
}
