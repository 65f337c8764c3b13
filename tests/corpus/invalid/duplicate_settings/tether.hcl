tether {
  parallelism = 4
}
