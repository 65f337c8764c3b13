account "hcs" "dc1" {
  endpoint         = "10.0.0.10"
  environment_name = "dc1"
  account          = "ops-admin"
  password         = file("s.age")
}
account "hcs" "dc2" {
  endpoint         = "2001:db8::1"
  environment_name = "dc1"
  account          = "ops-admin"
  password         = file("s.age")
}
