//! "Did you mean" suggestions for misspelt names.

/// The closest candidate to `word`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&lower, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn close_names_are_suggested() {
        let c = ["main_account_id", "account_name", "access_key_id"];
        assert_eq!(did_you_mean("main_acount_id", &c), Some("main_account_id"));
        assert_eq!(did_you_mean("acount_name", &c), Some("account_name"));
        assert_eq!(did_you_mean("zzz", &c), None);
        assert_eq!(did_you_mean("AWS", &["aws", "azure"]), Some("aws"));
    }
}
