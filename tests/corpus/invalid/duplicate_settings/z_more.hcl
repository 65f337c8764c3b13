tether {
  parallelism = 8
}
