account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}

account "aws" "payments" {
  main_account_id   = "210987654321"
  account_name      = "Payments"
  via               = aws.prod
  access_key_id     = "AKIAOTHER"
  secret_access_key = file("s.age")
  api_endpoint      = "http://127.0.0.1:9"
}
