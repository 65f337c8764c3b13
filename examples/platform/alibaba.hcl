# Alibaba Cloud: mainland China and international sites.

account "alibaba" "cn" {
  main_account_id   = "1234567890123456"
  account_name      = "CN main"
  access_key_id     = "LTAIEXAMPLECN000001"
  secret_access_key = file("secrets/alibaba-cn.age")
  regions           = ["cn-hangzhou", "cn-shanghai", "cn-beijing"]
  tags              = { team = "china-ops", business_entity = "corp-cn" }
}

account "alibaba" "cn_dev" {
  main_account_id = "1234567890123999"
  account_name    = "CN development"
  access_key_id   = "LTAIEXAMPLECNDEV001"
  secret_access_key = <<-EOT
    -----BEGIN AGE ENCRYPTED FILE-----
    YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSA2eEV6a2hWd3NFUTFqb3hm
    TEJTQmRtNFpSUW5sK2VLZ3pwUzFUYUY5SVc4ClRkNnlGVnNkWUtBOXhiNzJWc1VM
    M3VTbURKVDBRL2dmRVhmMTY4R2pqU1UKLT4gWy1ncmVhc2UgXyBVIF5TM1hFYVs0
    IFViCkxNc2VuV0xVamJyWkN3RWhnbmhyWjdnWXpsdDduaXZSYU5tOGpNNTNJeEtw
    dk1USjdtWDlNRWNIcms0cGxqTXkKeTBWQ1lGTQotLS0gTHBzUUMxdUZKSkUwWXhu
    M01iUkFHSXp4UlVEWUw1aTN2RkFLbkk4ZW5HTQoOUzj0PA2K9vOGTY9eo4OZsc44
    A2LWdM8riD/9gqJKcW6jrW+LZsVs9wI1idtSYDSxo5bHYJWAR5tpU8j/o+I=
    -----END AGE ENCRYPTED FILE-----
  EOT
  regions    = ["cn-hangzhou"]
  depends_on = [alibaba.cn]
  tags       = { team = "china-ops" }
}

account "alibaba" "intl" {
  main_account_id   = "5678901234567890"
  account_name      = "International"
  access_key_id     = "LTAIEXAMPLEINTL0001"
  secret_access_key = file("secrets/alibaba-intl.age")
  regions           = ["ap-southeast-1", "eu-central-1"]
  tags              = { team = "apac", business_entity = "corp-sg" }
}
