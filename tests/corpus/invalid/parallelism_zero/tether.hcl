tether {
  parallelism = 0
}
