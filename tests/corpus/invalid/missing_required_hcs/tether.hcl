account "hcs" "dc1" {
  environment_name = "dc1"
  account          = "ops-admin"
}
