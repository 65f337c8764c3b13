account "aws" "prod" {
  main_account_id   = "123456789012"
  access_key_id     = "AKIAEXAMPLE"
}
