//! "Did you mean ...?" suggestions.

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // A typo is a few edits away (transpositions count once), or shares a long prefix.
    let length = word.chars().count();
    let budget = (length / 3).max(1);
    candidates
        .into_iter()
        // A word over ten times as long as a candidate is more edits away than its budget and
        // less than 0.9 similar to it: skipped unmeasured (the distance costs the product of
        // the lengths, and a hostile word may be a megabyte long).
        .filter(|c| length <= 10 * c.chars().count())
        .map(|c| {
            (
                strsim::damerau_levenshtein(word, c),
                strsim::jaro_winkler(word, c),
                c,
            )
        })
        .filter(|(edits, similarity, c)| {
            *edits <= budget || *similarity >= 0.9 || (word.len() >= 3 && c.starts_with(word))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}

/// A help line: "did you mean `x`?" or a list of what is allowed.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> String {
    let all: Vec<&str> = candidates.into_iter().collect();
    match closest(word, all.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            if all.is_empty() {
                format!("there are no {what} here")
            } else if all.len() <= 12 {
                format!("{what}: {}", all.join(", "))
            } else {
                format!("{what}: {}, ...", all[..12].join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let kinds = ["target-group", "listener", "service"];
        assert_eq!(closest("target-gruop", kinds), Some("target-group"));
        assert_eq!(closest("database", kinds), None);
    }

    #[test]
    fn lists_candidates_when_nothing_is_close() {
        let help = did_you_mean("zzz", ["a", "b"], "attributes");
        assert_eq!(help, "attributes: a, b");
    }
}
