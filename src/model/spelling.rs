//! The nearest known name to a misspelt one, for "did you mean" in error messages.

/// The Levenshtein distance between two texts, counted in characters and ignoring case.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The known name nearest to `written`, if it is near enough to be a likely slip: at most
/// half the longer of the two names away (and at least two edits are always forgiven).
/// A name that has more of the written words wins over one that is merely shorter
/// ("create a ticket" is nearer "create a service ticket" than "get ticket"); ties go to
/// the name listed first.
pub fn nearest<'a>(written: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let words: Vec<String> = written.split_whitespace().map(str::to_lowercase).collect();
    known
        .into_iter()
        .map(|name| {
            let theirs: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
            let absent = words.iter().filter(|w| !theirs.contains(w)).count();
            (absent, edit_distance(written, name), name)
        })
        .filter(|(_, distance, name)| {
            let longer = written.chars().count().max(name.chars().count());
            *distance <= (longer / 2).max(2)
        })
        .min_by_key(|(absent, distance, _)| (*absent, *distance))
        .map(|(_, _, name)| name)
}

/// ` (did you mean "NAME"?)` for the nearest known name, or nothing.
pub fn did_you_mean<'a>(written: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    nearest(written, known)
        .map(|name| format!(" (did you mean \"{name}\"?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("", "", 0)]
    #[case("abc", "", 3)]
    #[case("", "abc", 3)]
    #[case("kitten", "sitting", 3)]
    #[case("allowed", "alowed", 1)]
    #[case("Denied", "denied", 0)]
    #[case("flaw", "lawn", 2)]
    #[case("café", "cafe", 1)]
    fn edit_distance_counts_insertions_deletions_and_substitutions(
        #[case] a: &str,
        #[case] b: &str,
        #[case] expected: usize,
    ) {
        assert_eq!(edit_distance(a, b), expected);
        assert_eq!(edit_distance(b, a), expected, "symmetric");
    }

    const PHRASES: [&str; 4] = [
        "create a service ticket",
        "get ticket",
        "update a contact",
        "search companies",
    ];

    #[rstest]
    #[case("create a servce ticket", Some("create a service ticket"))]
    #[case("create a ticket", Some("create a service ticket"))]
    #[case("search company", Some("search companies"))]
    #[case("update contact", Some("update a contact"))]
    #[case("launch the rockets", None)]
    #[case("x", None)]
    fn nearest_suggests_a_likely_slip_and_nothing_for_unrelated_text(
        #[case] written: &str,
        #[case] expected: Option<&str>,
    ) {
        assert_eq!(nearest(written, PHRASES), expected);
    }

    #[test]
    fn did_you_mean_is_empty_without_a_suggestion() {
        assert_eq!(
            did_you_mean("alowed", ["allowed", "denied"]),
            " (did you mean \"allowed\"?)"
        );
        assert_eq!(did_you_mean("zzzzzzzz", ["allowed", "denied"]), "");
    }
}
