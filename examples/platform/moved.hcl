# The former "aws.production" account is now "aws.prod": state follows the rename.
moved {
  from = aws.production
  to   = aws.prod
}
