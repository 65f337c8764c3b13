acount "aws" "prod" {
}
