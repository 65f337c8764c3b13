account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = <<-EOT
    -----BEGIN AGE ENCRYPTED FILE-----
    bm90IGFuIGFnZSBmaWxl
    -----END AGE ENCRYPTED FILE-----
  EOT
}
