account "hcs" "dc1" {
  endpoint         = "https://hcs.example.com/v3"
  environment_name = "dc1"
  account          = "ops-admin"
  password         = file("s.age")
}
