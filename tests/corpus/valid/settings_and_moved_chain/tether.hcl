tether {
  recipients  = ["age1ffmrf7rx52nyu0fxdeqwnw3f0z0nppudmk57ye82k6hkvfhp8gwq5vv9ap", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICLDN4evhZ20kXsej4yUYOFZMmmXpVVLFFLipbymqiZM test@example"]
  state       = "state/tether.state.json"
  parallelism = 20
}

account "aws" "prod" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}
moved {
  from = aws.first
  to   = aws.second
}

moved {
  from = aws.second_old
  to   = aws.prod
}
account "aws" "second" {
  main_account_id   = "123456789012"
  account_name      = "Production"
  access_key_id     = "AKIAEXAMPLE"
  secret_access_key = file("s.age")
}
