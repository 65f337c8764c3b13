account "hcs" "dc1" {
  endpoint         = "hcs.example.com"
  environment_name = "dc1"
  account          = "ops-admin"
  password         = file("plain.txt")
}
