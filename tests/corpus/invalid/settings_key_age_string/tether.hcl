tether {
  max_key_age           = "90d"
  secret_expiry_warning = 0
}
