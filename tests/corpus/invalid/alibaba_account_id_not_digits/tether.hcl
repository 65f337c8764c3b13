account "alibaba" "cn" {
  main_account_id   = "uid-1234"
  account_name      = "CN"
  access_key_id     = "LTAIEXAMPLE"
  secret_access_key = file("s.age")
}
