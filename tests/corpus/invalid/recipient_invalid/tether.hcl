tether {
  recipients = ["age1notarecipient"]
}
