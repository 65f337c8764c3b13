account "alibaba" "cn" {
  main_account_id   = "1234567890123456"
  account_name      = "CN"
  access_key_id     = "LTAIEXAMPLE"
  secret_access_key = <<-EOT
    -----BEGIN AGE ENCRYPTED FILE-----
    YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBqbDNNVlU3TG9WLzlvT29h
    K05DNjgrL240K2FHS2Q4TDdUTTBPK3lJUUJvClVGUVhWUUszZHB6SGc5cUlmZ0la
    YVAyRXZtQkdqZWZkQ0trNEtLdlYxUTgKLT4gQCcoLnY4T2gtZ3JlYXNlIFlHLyJc
    cjAqIFZeVDwgVUdEWTdJMQpYcW1PR1dCSFlMOThGSXoxUUhqdUwvNXhMTjdidmd2
    NDNzeno3THRRQk9sdjhiWEtFUzBiYm14SDl6SVhyUjgvCmhSSmJEVUhhMVoxZjZK
    Y0JTcWpienYzclNxTQotLS0gMXpYcEdtVkRoQ0FWa0tJTWpvSC8rZkVtSWhTUmRJ
    bHdPTFRuMUVTT1UvWQqAkXc8Zqd1BKIkUIfoD7vPgl/XwR2qRBWt0D+B3G6P1y6D
    NxnqpMYa4RyO3b4uK8trR+A=
    -----END AGE ENCRYPTED FILE-----
  EOT
}
