tether {
  recipients = ["pgp:ABCDEF"]
}
